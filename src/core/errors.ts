// The one error base of rtsync. `source` says who must act: the user (fix the manifest or the
// flags), the system (the OS or rsync refused) or us (a bug). Every error exits 1 (contract).
export type ErrorSource = "user" | "system" | "internal";

export type ErrorCode =
  | "E_MANIFEST" // the manifest is missing, unreadable or invalid
  | "E_USAGE" // bad command-line flags
  | "E_SECRET" // a password could not be resolved
  | "E_RSYNC_MISSING" // the rsync binary is not installed
  | "E_LOCK" // another apply holds the lock
  | "E_APPLY" // a resource could not be changed
  | "E_READ" // the actual state could not be read
  | "E_WATCH" // the watch engine could not start
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

export class InternalError extends RtsyncError {
  static {
    this.prototype.name = "InternalError";
  }
  constructor(message: string, options?: ErrorOptions) {
    super("E_INTERNAL", "internal", message, options);
  }
}

// The text of any thrown value, for messages that wrap a cause.
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
