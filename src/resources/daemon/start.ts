import { spawn } from "node:child_process";
import { lstat, mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { ApplyError, describeErrno, errnoOf } from "../../core/errors.ts";
import { daemonFiles } from "../../state/layout.ts";
import { isAlive } from "../process/identity.ts";
import { waitForListen } from "./ports.ts";

// Starting an rsync daemon rtsync owns: `rsync --daemon --no-detach`, detached from apply so it
// outlives it, stdin ignored (a socket on stdin makes rsync believe inetd started it, and it
// never listens), stderr kept in its daemon directory for the reason of an early exit.

export interface DaemonLaunch {
  readonly argv: readonly string[];
  readonly address: string;
  readonly port: number;
  readonly pidFile: string;
  readonly logFile: string;
  /** rtsync's directory for this daemon (stderr goes there). */
  readonly dir: string;
  /** Its whole environment (buildChildEnv): rsyncd expands %VAR% in its config from it. */
  readonly env: Readonly<Record<string, string>>;
}

async function lastLines(path: string, n: number): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-n).join(" / ");
}

/** Why `pidFile` may not be used: it exists and holds something other than a pid. Only observes. */
export async function readPidFileProblem(pidFile: string): Promise<string | undefined> {
  let text: string;
  try {
    const s = await lstat(pidFile);
    if (!s.isFile()) return `pidFile ${pidFile} exists and is not a regular file; choose another pidFile`;
    text = await readFile(pidFile, "utf8");
  } catch (e) {
    return errnoOf(e) === "ENOENT" ? undefined : `cannot read the pid file ${pidFile}: ${describeErrno(e)}`;
  }
  return /^\s*\d+\s*$/.test(text) ? undefined : `pidFile ${pidFile} exists and is not a pid file; rtsync will neither delete it nor let rsyncd overwrite it: choose another pidFile`;
}

// rsyncd refuses to start while the pid file of a dead daemon is in place, so a stale one goes;
// but only a pid file: a path that holds anything else is not rtsync's to delete.
async function removeStalePidFile(pidFile: string): Promise<void> {
  const problem = await readPidFileProblem(pidFile);
  if (problem !== undefined) throw new ApplyError(problem);
  await rm(pidFile, { force: true });
}

/** Starts the daemon and resolves with its pid once it accepts connections. */
export async function startDaemon(d: DaemonLaunch): Promise<number> {
  await mkdir(d.dir, { recursive: true, mode: 0o700 });
  await mkdir(dirname(d.pidFile), { recursive: true, mode: 0o755 });
  await mkdir(dirname(d.logFile), { recursive: true, mode: 0o755 });
  await removeStalePidFile(d.pidFile);
  const stderrPath = daemonFiles.stderr(d.dir);
  const stderr = await open(stderrPath, "w", 0o600);
  const [cmd, ...args] = d.argv;
  if (!cmd) throw new ApplyError("empty daemon command");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", stderr.fd, stderr.fd], env: d.env });
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  child.unref();
  await stderr.close();
  const pid = child.pid;
  if (pid === undefined) {
    const e = await spawnError;
    throw new ApplyError(errnoOf(e) === "ENOENT" ? `${cmd} is not installed (apt-get install rsync)` : `cannot start ${cmd}: ${e.message}`, { cause: e });
  }
  const up = await waitForListen(d.address, d.port, 10_000, () => isAlive(pid));
  if (!up) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
    const why = (await lastLines(stderrPath, 2)) || (await lastLines(d.logFile, 2)) || "no message";
    throw new ApplyError(`rsync --daemon did not start listening on ${d.address}:${d.port}: ${why}`);
  }
  return pid;
}
