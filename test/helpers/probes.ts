import { readFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { readInventory } from "../../src/state/inventory.ts";

// Looking at processes, ports and rtsync's inventory from a test, as an operator would with
// /proc, nc and cat. Only `stopPid` changes anything, and only for a pid the caller names.

// stateDir/inventory.json as written by apply, through rtsync's own reader (empty when none yet).
export { readInventory };

/** The pid apply recorded for daemon `name`; throws when there is none. */
export async function daemonPid(stateDir: string, name: string): Promise<number> {
  const rec = (await readInventory(stateDir)).daemons[name];
  if (!rec) throw new Error(`no daemon ${name} in ${stateDir}/inventory.json`);
  return rec.pid;
}

/** The command line of `pid` as its argv, or undefined when it is gone. */
export async function cmdlineOf(pid: number): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  return text === undefined ? undefined : text.split("\0").filter(Boolean);
}

/** True when `pid` exists, is not a zombie, and its argv holds every string of `mustContain`. */
export async function processRunning(pid: number, mustContain: readonly string[] = []): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  if (state === "Z" || state === "X") return false;
  const argv = (await cmdlineOf(pid)) ?? [];
  return mustContain.every((s) => argv.includes(s));
}

/** Polls `check` every 25 ms until it is true or `timeoutMs` has passed; returns its last answer. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await sleep(25);
  }
}

/** SIGTERM to `pid` (one the caller started), SIGKILL after 5 s; resolves once it is gone. */
export async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  if (await waitFor(async () => !(await processRunning(pid)), 5000)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await waitFor(async () => !(await processRunning(pid)), 5000);
}

/** True when something accepts a TCP connection on host:port. */
export function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
