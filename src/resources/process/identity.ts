import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Host } from "../host.ts";

// Processes rtsync started: is a pid still the process we think it is, and stopping it. A pid is
// only trusted when its command line still contains what we started it with and, when they were
// recorded, its owner and start time are the same (a pid reused by another user's process with
// the same command line is not ours).

export interface ProcessInfo {
  readonly pid: number;
  readonly argv: readonly string[];
  /** The state letter of /proc/PID/stat (R, S, Z, …). */
  readonly state: string;
  /** Its parent's pid. */
  readonly ppid: number;
  /** Real uid (first field of Uid: in /proc/PID/status). */
  readonly uid: number;
  /** Clock ticks after boot at which it started (/proc/PID/stat field 22). */
  readonly startTime: number;
}

// The fields of /proc/PID/stat after the command name in parentheses (which may hold spaces).
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** What /proc says of `pid`, or undefined when it is gone (or unreadable). Synchronous reads (procfs: three small files; see state/document.ts). */
export async function readProcessInfo(host: Host, pid: number): Promise<ProcessInfo | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const dir = join(host.procRoot, String(pid));
    const [cmdline, stat, status] = [readFileSync(join(dir, "cmdline"), "utf8"), readFileSync(join(dir, "stat"), "utf8"), readFileSync(join(dir, "status"), "utf8")];
    const fields = statFields(stat);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    return { pid, argv: cmdline.split("\0").filter((a, i, all) => a !== "" || i < all.length - 1), state: fields[0] ?? "?", ppid: Number(fields[1]), uid, startTime: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** What rtsync recorded of a process it started. */
export interface RecordedProcess {
  readonly pid: number;
  readonly match: readonly string[];
  readonly uid?: number | undefined;
  readonly startTime?: number | undefined;
}

/** Whether `info` is the process `record` describes: alive, not a zombie, same argv words, same owner and start. Pure. */
export function isSameProcess(info: ProcessInfo | undefined, record: RecordedProcess): boolean {
  if (info === undefined || info.state === "Z" || info.state === "X") return false;
  if (record.uid !== undefined && info.uid !== record.uid) return false;
  if (record.startTime !== undefined && info.startTime !== record.startTime) return false;
  return record.match.every((s) => info.argv.includes(s));
}

/** True when the recorded process still runs (see isSameProcess). */
export async function isOurProcess(host: Host, record: RecordedProcess): Promise<boolean> {
  return isSameProcess(await readProcessInfo(host, record.pid), record);
}

// A zombie has exited: it only waits for its parent (init, for our detached daemons) to reap it,
// which a container's pid 1 may do late or never, so it must not count as alive.
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const state = statFields(readFileSync(`/proc/${pid}/stat`, "utf8"))[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Never SIGHUP: rsyncd exits on it without cleanup. */
export async function stopProcess(pid: number, graceMs = 8000): Promise<"stopped" | "killed" | "gone"> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return "gone";
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return "stopped";
    await sleep(25);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return "stopped";
  }
  while (isAlive(pid)) await sleep(25);
  return "killed";
}
