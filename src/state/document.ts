import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import * as z from "zod/mini";
import { writeFileAtomic } from "../core/atomic-write.ts";
import { describeErrno, errnoOf, messageOf, StateError } from "../core/errors.ts";

// Reading and writing the JSON documents under stateDir. Every document (inventory, watcher
// status, watch spec) has one module in state/ that owns its schema; this is the shared part:
// a missing file is `undefined`, anything unreadable or malformed is one StateError sentence that
// names the file, what it should have been, why it is not, and what to do.
//
// zod/mini rather than zod: the watcher process reads its spec and writes its status through
// these modules, and it runs for months; zod/mini's functions are tree-shaken (~25 KB of code,
// ~0.4 MB of resident memory, measured) where zod's classes held 4.6 MB.

export interface DocumentKind<T> {
  /** What the file should be, for messages: "an rtsync inventory". */
  readonly what: string;
  readonly schema: z.ZodMiniType<T>;
  /** The next step when the file is unusable: "move it away and run `rtsync apply`". */
  readonly fix: string;
}

// The first problem zod found, as "path: what is wrong" (zod/mini carries no message texts).
function firstIssue(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "it does not match";
  const where = issue.path.length === 0 ? "" : `${issue.path.map(String).join(".")}: `;
  return `${where}${issueText(issue)}`;
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.message !== "Invalid input" && issue.message !== "") return issue.message;
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length === 1 ? "" : "s"} ${issue.keys.join(", ")}`;
    case "invalid_type":
      return `expected ${issue.expected}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return `must be at least ${String(issue.minimum)}`;
    case "too_big":
      return `must be at most ${String(issue.maximum)}`;
    default:
      return `is invalid (${issue.code})`;
  }
}

/** Parses a document's text; throws a StateError naming `file` when it is not what it should be. Pure. */
export function parseDocument<T>(file: string, text: string, kind: DocumentKind<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8 quotes the text around some errors ('Unexpected token 'x', "…" is not valid JSON'): a
    // document may hold a manifest's text, and so a password, and this message is printed and logged.
    const why = text.trim() === "" ? "it is empty" : `it is not valid JSON: ${messageOf(error).replace(/, "[\s\S]* is not valid JSON$/, "")}`;
    throw new StateError(file, "corrupt", `${file} is not ${kind.what} (${why}); ${kind.fix}`, { cause: error });
  }
  const parsed = kind.schema.safeParse(json);
  if (!parsed.success) throw new StateError(file, "corrupt", `${file} is not ${kind.what} (${firstIssue(parsed.error)}); ${kind.fix}`);
  return parsed.data;
}

// Why a document with this owner and mode is not to be trusted, or undefined (issue 19: another
// user's inventory.json named a root process, and apply stopped it).
export function untrustedDocument(stat: { readonly uid: number; readonly mode: number }, uid: number): string | undefined {
  if (stat.uid !== 0 && stat.uid !== uid) return `it is owned by uid ${stat.uid}, not by root`;
  if ((stat.mode & 0o022) !== 0) return `it is writable by group or others (mode ${(stat.mode & 0o7777).toString(8).padStart(4, "0")})`;
  return undefined;
}

/**
 * Reads and validates a document; undefined when the file does not exist. A symlink, or a document
 * another user could have written, is refused.
 *
 * Synchronous I/O under an async signature: a document is a few KiB on the local stateDir, and
 * open/fstat/read/close through the thread pool cost ~4 round trips each, more CPU than the reads
 * themselves. An agent at rest reads ~50 of them per reconcile (issue 20: its CPU at rest).
 */
export async function readDocument<T>(file: string, kind: DocumentKind<T>): Promise<T | undefined> {
  let text: string;
  try {
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const why = untrustedDocument(fstatSync(fd), process.getuid?.() ?? 0);
      if (why) throw new StateError(file, "corrupt", `${file} is not trusted (${why}); ${kind.fix}`);
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof StateError) throw error;
    if (errnoOf(error) === "ENOENT") return undefined;
    throw new StateError(file, "io", `cannot read ${file}: ${describeErrno(error)}`, { cause: error });
  }
  return parseDocument(file, text, kind);
}

/** Writes a document atomically (pretty JSON, one trailing newline). */
export async function writeDocument(file: string, value: unknown, options: { readonly mode?: number; readonly fsync?: boolean } = {}): Promise<void> {
  try {
    await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, { mode: options.mode ?? 0o600, ...(options.fsync === undefined ? {} : { fsync: options.fsync }) });
  } catch (error) {
    throw new StateError(file, "io", `cannot write ${file}: ${describeErrno(error)}${stateDirHint(error)}`, { cause: error });
  }
}

// What to do about a write the OS refused.
export function stateDirHint(error: unknown): string {
  switch (errnoOf(error)) {
    case "EROFS":
      return "; set stateDir in the manifest to a writable directory";
    case "EACCES":
    case "EPERM":
      return "; run rtsync as the user that owns stateDir (root for /var/lib/rtsync), or set stateDir";
    case "ENOSPC":
      return "; free some space";
    default:
      return "";
  }
}
