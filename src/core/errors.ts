// The one error base of rtsync. `source` says who must act: the user (fix the manifest or the
// flags), the system (the OS, a state file or rsync refused) or us (a bug). Every error exits 1
// (contract); only cli/main.ts prints one.
export type ErrorSource = "user" | "system" | "internal";

export type ErrorCode =
  | "E_MANIFEST" // the manifest is missing, unreadable or invalid
  | "E_RSYNC_MISSING" // the rsync binary is not installed
  | "E_SSH_MISSING" // the ssh client is not installed (ssh:// targets)
  | "E_SSH_KEY" // an ssh identity file is missing, not owned by rtsync's user or readable by others
  | "E_RSYNC_VERSION" // the rsync found is too old to run a daemon (CVE-2024-12084..12088)
  | "E_LOCK" // another apply holds the lock
  | "E_STATE" // a file under stateDir cannot be read, parsed or written
  | "E_APPLY" // one resource could not be changed (reported per change, never exits alone)
  | "E_WATCH" // the watch engine could not start or keep watching
  | "E_USAGE" // a flag names something this node's manifest does not have (verify --watch)
  | "E_AGENT" // rtsync agent cannot start: bad flags, cannot listen, cannot fetch its manifest
  | "E_POLICY" // the node policy is unreadable, invalid or not root's
  | "E_TRUST" // stateDir (or a parent) could be changed by another user
  | "E_INTERNAL";

export class RtsyncError extends Error {
  static {
    this.prototype.name = "RtsyncError";
  }
  readonly code: ErrorCode;
  readonly source: ErrorSource;
  constructor(code: ErrorCode, source: ErrorSource, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.source = source;
  }
}

/** A bug: the CLI asks the user to report it. */
export class InternalError extends RtsyncError {
  static {
    this.prototype.name = "InternalError";
  }
  constructor(message: string, options?: ErrorOptions) {
    super("E_INTERNAL", "internal", message, options);
  }
}

/** A change of one resource failed for a reason the system gave (permission, a busy port, …). */
export class ApplyError extends RtsyncError {
  static {
    this.prototype.name = "ApplyError";
  }
  constructor(message: string, options?: ErrorOptions) {
    super("E_APPLY", "system", message, options);
  }
}

/** A document under stateDir (inventory, watcher status, spec, log) is unreadable, corrupt or unwritable. */
export class StateError extends RtsyncError {
  static {
    this.prototype.name = "StateError";
  }
  readonly file: string;
  /** corrupt: read, but not the document it should be; io: the OS refused to read or write it. */
  readonly problem: "corrupt" | "io";
  constructor(file: string, problem: "corrupt" | "io", message: string, options?: ErrorOptions) {
    super("E_STATE", "system", message, options);
    this.file = file;
    this.problem = problem;
  }
}

// The text of any thrown value, for messages that wrap a cause.
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The errno code of a Node system error (ENOENT, EACCES, …), if it is one. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A short human reason for an errno, for "cannot X FILE: REASON" sentences. */
export function describeErrno(error: unknown): string {
  switch (errnoOf(error)) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "no space left on the device";
    case "EISDIR":
      return "it is a directory";
    case "ENOTDIR":
      return "a parent is not a directory";
    case "ELOOP":
      return "it is a symbolic link (rtsync does not follow links it did not create)";
    case "EDQUOT":
      return "the disk quota is exceeded";
    default:
      return messageOf(error);
  }
}
