import type { Progress, RunOutcome } from "../../state/watcher-status.ts";

// Pure reading of what rsync reports: its exit code, its transfer statistics, its progress.

const TRANSIENT = new Set([3, 5, 6, 10, 11, 12, 14, 20, 21, 22, 30, 35, 255]);

/**
 * What an exit code means for the batch: 0 and 24 ("some files vanished") are success;
 * unreachable daemon, timeouts, protocol and I/O errors are transient; 23 is a partial transfer;
 * 25 is --max-delete stopping deletions.
 */
export function classifyExitCode(code: number): Exclude<RunOutcome, "cancelled" | "auth"> {
  if (code === 0 || code === 24) return "ok";
  if (TRANSIENT.has(code)) return "transient";
  if (code === 23) return "partial";
  if (code === 25) return "max-delete";
  return "fatal";
}

/**
 * The exit code read with rsync's messages: a daemon that refused the password (exit 5,
 * "@ERROR: auth failed on module m") is an authentication problem, not a passing one. Exit 5
 * also covers "max connections reached" or an unknown module, which stay transient.
 *
 * --max-delete: a local rsync exits 25 when it stopped deleting, but pushing to a daemon the
 * deletions happen on the receiver and the client exits 0 (rsync 3.5.0); only the forwarded
 * "Deletions stopped due to --max-delete limit" line tells. Either way it is "max-delete".
 */
export function classifyRun(code: number, messages: readonly string[]): Exclude<RunOutcome, "cancelled"> {
  if (code === 5 && messages.some((m) => /auth failed/i.test(m))) return "auth";
  if ((code === 0 || code === 23 || code === 24) && parseSkippedDeletions(messages) !== undefined) return "max-delete";
  return classifyExitCode(code);
}

/**
 * The run failed because nothing listened at the daemon's address (refused, no route, connect
 * timed out): the target is down, not broken. A run that connected and then failed (a frozen
 * daemon's I/O timeout, a module refused, a full disk) is not this.
 */
export function failedToConnect(code: number, messages: readonly string[]): boolean {
  if (code === 35) return true; // timeout waiting for the daemon connection (--contimeout)
  // ssh could not reach the host (rsync says 255: "unexplained error").
  if (code === 255 && messages.some((m) => /^ssh: connect to host .*: (?:Connection refused|No route to host|Network is unreachable|Connection timed out)/.test(m))) return true;
  return code === 10 && messages.some((m) => /failed to connect to .*\((?:111|113|101|110)\)|Connection refused|No route to host|Network is unreachable/.test(m));
}

/** What rsync's error lines blame, once each: "Permission denied (13) on the target", "No space left on device (28) on the target". */
export function parseFailureReasons(messages: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of messages) {
    const m = /^rsync(?:: \[(\w+)\])?.*: ([A-Za-z][^:()"]*?) \((\d+)\)\s*$/.exec(line);
    if (!m?.[2] || m[3] === undefined) continue;
    const side = m[1] === "sender" ? " on the source" : m[1] === "receiver" || m[1] === "generator" ? " on the target" : "";
    const reason = `${m[2]} (${m[3]})${side}`;
    if (!out.includes(reason)) out.push(reason);
  }
  return out;
}

/** rsync's first error line ("rsync: [receiver] mkstemp ... failed: Permission denied (13)"), if any. */
export function firstErrorLine(messages: readonly string[]): string | undefined {
  // rtsync's own sentence for an ssh failure (rsync/run.ts) explains more than rsync's line after it.
  const ssh = messages.find((m) => m.startsWith("ssh host key of ") || m.startsWith("the receiver's rrsync refused"));
  if (ssh !== undefined) return ssh;
  return messages.find((m) => /^rsync: /.test(m) || /@ERROR/.test(m)) ?? messages.find((m) => /error|failed/i.test(m));
}

export interface FullSyncStats {
  /** Regular files rsync transferred. */
  readonly transferred: number;
  /** Files and directories it deleted on the target. */
  readonly deleted?: number;
}

/** The counts of --info=stats2 ("Number of regular files transferred: 20,000", "Number of deleted files: 3 (reg: 3)"). */
export function parseFullSyncStats(stdout: string): FullSyncStats | undefined {
  const transferred = /Number of regular files transferred: ([\d,.']+)/.exec(stdout)?.[1];
  if (transferred === undefined) return undefined;
  const deleted = /Number of deleted files: ([\d,.']+)/.exec(stdout)?.[1];
  return { transferred: parseCount(transferred), ...(deleted === undefined ? {} : { deleted: parseCount(deleted) }) };
}

/** How many deletions --max-delete skipped ("Deletions stopped due to --max-delete limit (3 skipped)"). */
export function parseSkippedDeletions(messages: readonly string[]): number | undefined {
  for (const line of messages) {
    const m = /--max-delete limit \(([\d,.']+) skipped\)/.exec(line);
    if (m?.[1] !== undefined) return parseCount(m[1]);
  }
  return undefined;
}

export interface TransferStats {
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

function parseCount(text: string): number {
  return Number.parseInt(text.replace(/[,.']/g, ""), 10);
}

/** The `sent N bytes  received M bytes` line of --info=stats1. */
export function parseTransferStats(stdout: string): TransferStats | undefined {
  const m = /sent ([\d,.']+) bytes\s+received ([\d,.']+) bytes/.exec(stdout);
  if (!m?.[1] || !m[2]) return undefined;
  return { bytesSent: parseCount(m[1]), bytesReceived: parseCount(m[2]) };
}

/** One --info=progress2 update, e.g. `  1,234,567  45%  1.23MB/s  0:00:01 (xfr#12, to-chk=100/2000)`. */
export function parseProgressLine(line: string): Progress | undefined {
  const m = /^\s*([\d,.']+)\s+(\d+)%\s+\S+\s+\S+(?:\s+\(xfr#(\d+), (?:to|ir)-chk=(\d+)\/(\d+)\))?/.exec(line);
  if (!m?.[1] || m[2] === undefined) return undefined;
  const base = { bytes: parseCount(m[1]), percent: Number(m[2]) };
  if (m[3] === undefined || m[4] === undefined || m[5] === undefined) return base;
  return { ...base, files: Number(m[3]), toCheck: Number(m[4]), total: Number(m[5]) };
}

/** The lines of rsync's stderr worth keeping for status and the log (at most `max`). */
export function summarizeStderr(stderr: string, max = 10): string[] {
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .slice(0, max);
}
