import { spawn } from "node:child_process";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { DesiredDaemon } from "../reconcile/types.ts";
import { portIsFree, waitForListen } from "./ports.ts";
import { isAlive } from "./process.ts";

// Starting an rsync daemon rtsync owns: `rsync --daemon --no-detach`, detached from apply so it
// outlives it, stdin ignored (a socket on stdin makes rsync believe inetd started it, and it
// never listens), stderr kept beside its config for the reason of an early exit.

async function lastLines(path: string, n: number): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-n).join(" / ");
}

/** Starts the daemon and resolves with its pid once it accepts connections. */
export async function startDaemon(d: DesiredDaemon, stateDir: string): Promise<number> {
  const dir = join(stateDir, "daemons", d.name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await mkdir(dirname(d.pidFile), { recursive: true });
  await mkdir(dirname(d.logFile), { recursive: true });
  // Otherwise waitForListen below would take the other program's listener for our daemon's.
  if (!(await portIsFree(d.address, d.port))) {
    throw new Error(`${d.address}:${d.port} is already in use by another program; stop it or choose another port`);
  }
  // rsyncd refuses to start while a stale pid file of a dead daemon is in place.
  await rm(d.pidFile, { force: true });
  const stderrPath = join(dir, "rsyncd.stderr");
  const stderr = await open(stderrPath, "w", 0o644);
  const [cmd, ...args] = d.argv;
  if (!cmd) throw new Error("empty daemon command");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", stderr.fd, stderr.fd] });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  child.unref();
  await stderr.close();
  const pid = child.pid;
  if (pid === undefined) {
    const e = await spawnError;
    throw new Error((e as NodeJS.ErrnoException).code === "ENOENT" ? `${cmd} is not installed (apt-get install rsync)` : e.message);
  }
  const up = await waitForListen(d.address, d.port, 10_000, () => isAlive(pid));
  if (!up) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
    const why = (await lastLines(stderrPath, 2)) || (await lastLines(d.logFile, 2)) || "no message";
    throw new Error(`rsync --daemon did not start listening on ${d.address}:${d.port}: ${why}`);
  }
  return pid;
}
