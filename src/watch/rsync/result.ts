import type { Progress, RunOutcome } from "../../state/watcher-status.ts";

// Pure reading of what rsync reports: its exit code, its transfer statistics, its progress.

const TRANSIENT = new Set([3, 5, 6, 10, 11, 12, 14, 20, 21, 22, 30, 35, 255]);

/**
 * What an exit code means for the batch: 0 and 24 ("some files vanished") are success;
 * unreachable daemon, timeouts, protocol and I/O errors are transient; 23 is a partial transfer.
 */
export function classifyExitCode(code: number): Exclude<RunOutcome, "cancelled"> {
  if (code === 0 || code === 24) return "ok";
  if (TRANSIENT.has(code)) return "transient";
  if (code === 23) return "partial";
  return "fatal";
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
