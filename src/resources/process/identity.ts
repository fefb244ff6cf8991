import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Host } from "../host.ts";

// Processes rtsync started: is a pid still the process we think it is, and stopping it. A pid is
// only trusted when its command line still contains what we started it with (pid reuse).

// The state letter of /proc/PID/stat (after the command name in parentheses).
function stateOf(stat: string): string {
  const close = stat.lastIndexOf(")");
  return stat.slice(close + 2, close + 3);
}

/** True when `pid` is alive, not a zombie, and its argv contains every string of `mustContain`. */
export async function isOurProcess(host: Host, pid: number, mustContain: readonly string[]): Promise<boolean> {
  try {
    const [cmdline, stat] = await Promise.all([
      readFile(join(host.procRoot, String(pid), "cmdline"), "utf8"),
      readFile(join(host.procRoot, String(pid), "stat"), "utf8"),
    ]);
    const state = stateOf(stat);
    if (state === "Z" || state === "X") return false;
    const args = cmdline.split("\0");
    return mustContain.every((s) => args.includes(s));
  } catch {
    return false;
  }
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
    const state = stateOf(readFileSync(`/proc/${pid}/stat`, "utf8"));
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
