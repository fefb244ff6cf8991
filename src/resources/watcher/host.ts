import { spawn } from "node:child_process";
import { mkdir, open, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { ApplyError } from "../../core/errors.ts";
import { readHostJobs, readHostStatus, writeHostJobs, type HostJob, type HostStatus } from "../../state/host-jobs.ts";
import { hostFiles, stateLayout } from "../../state/layout.ts";
import type { WatcherKind } from "../../state/watch-spec.ts";
import { readWatcherStatusResult } from "../../state/watcher-status.ts";
import type { Host } from "../host.ts";
import { isAlive, isSameProcess, readProcessInfo, stopProcess, type ProcessInfo } from "../process/identity.ts";
import { buildChildEnv } from "../process/markers.ts";
import { watcherNodeFlags } from "./node-flags.ts";

// The watch host as apply and down see it: the one process per stateDir that runs every watch
// job (watch/host/main.ts). apply starts it when it does not run, hands it a job by writing
// stateDir/host/jobs.json and sending SIGUSR1, and waits for the job's status; a job is withdrawn
// the same way. The host is never killed to stop one job.

/** The words of the host's command line that say it is the host of this stateDir. */
export const hostMatch = (stateDir: string): string[] => ["__host", stateDir];

/** A watcher record that names the host rather than a watcher process of its own. Pure. */
export const isHostRecord = (r: { readonly match: readonly string[] }): boolean => r.match.includes("__host");

/** The job marker of the host process (it belongs to the stateDir, not to one manifest). */
export const HOST_JOB = "watch-host";

// 15 s: a job finishes the run in flight and flushes what is pending before it stops.
const GRACE_MS = 15_000;

/** The running host of `stateDir`, from its status document, checked against /proc; undefined when none runs. */
export async function readRunningHost(host: Host, stateDir: string): Promise<{ readonly info: ProcessInfo; readonly status: HostStatus } | undefined> {
  const status = await readHostStatus(stateDir).catch(() => undefined);
  if (status === undefined) return undefined;
  const info = await readProcessInfo(host, status.pid);
  if (info === undefined || !isAlive(info.pid)) return undefined;
  const record = { pid: status.pid, match: hostMatch(stateDir), ...(status.startTime === undefined ? {} : { startTime: status.startTime }) };
  return isSameProcess(info, record) ? { info, status } : undefined;
}

async function logTail(file: string): Promise<string> {
  return (await readFile(file, "utf8").catch(() => "")).trim().split("\n").slice(-2).join(" / ");
}

type HostLaunch = { readonly stateDir: string; readonly selfCommand: readonly string[]; readonly env: Readonly<Record<string, string | undefined>>; readonly watcher: WatcherKind };

// Starts in flight, by stateDir: an early start (the kind's prepare) and the first watcher's apply share one.
const starting = new Map<string, Promise<ProcessInfo>>();

/** The host of this stateDir: the running one, or one started now (it runs the jobs of jobs.json at once). */
export function ensureWatchHost(host: Host, o: HostLaunch): Promise<ProcessInfo> {
  const inFlight = starting.get(o.stateDir);
  if (inFlight !== undefined) return inFlight;
  const start = findOrStartHost(host, o).finally(() => starting.delete(o.stateDir));
  starting.set(o.stateDir, start);
  return start;
}

async function findOrStartHost(host: Host, o: HostLaunch): Promise<ProcessInfo> {
  const running = await readRunningHost(host, o.stateDir);
  if (running !== undefined) return running.info;
  const hostDir = stateLayout.hostDir(o.stateDir);
  await mkdir(hostDir, { recursive: true, mode: 0o700 });
  const logPath = hostFiles.output(hostDir);
  const log = await open(logPath, "a", 0o600);
  const [cmd, ...args] = o.selfCommand;
  if (!cmd) throw new ApplyError("empty rtsync command");
  const flags = cmd === process.execPath ? watcherNodeFlags(o.watcher) : [];
  const env = buildChildEnv({ stateDir: o.stateDir, owner: "", job: HOST_JOB, hash: "" }, o.env);
  const child = spawn(cmd, [...flags, ...args, ...hostMatch(o.stateDir)], { detached: true, stdio: ["ignore", log.fd, log.fd], env });
  child.unref();
  await log.close();
  const pid = child.pid;
  if (pid === undefined) throw new ApplyError(`cannot start ${cmd}`);
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (!isAlive(pid)) {
      // It found another host of this stateDir starting (an apply killed after starting one, whose
      // host had not written its status yet when this one looked): that one is the host.
      for (const until2 = Date.now() + 3000; Date.now() < until2; await sleep(50)) {
        const other = await readRunningHost(host, o.stateDir);
        if (other !== undefined) return other.info;
      }
      throw new ApplyError(`the watch host exited at start: ${(await logTail(logPath)) || "no message"} (log: ${logPath})`);
    }
    const status = await readHostStatus(o.stateDir).catch(() => undefined);
    if (status?.pid === pid) {
      const info = await readProcessInfo(host, pid);
      if (info !== undefined) return info;
    }
    await sleep(20);
  }
  throw new ApplyError(`the watch host (pid ${pid}) wrote no status within 15 s (log: ${logPath})`);
}

/** Puts (or replaces) one job in jobs.json; a host that runs is told by `tellHost`, one that starts reads it. */
export async function handJob(stateDir: string, name: string, job: HostJob): Promise<void> {
  await mkdir(stateLayout.hostDir(stateDir), { recursive: true, mode: 0o700 });
  const jobs = await readHostJobs(stateDir);
  // A restart token stays until a new one replaces it: dropping it would restart the job.
  const restart = job.restart ?? jobs.jobs[name]?.restart;
  await writeHostJobs(stateDir, { version: 1, jobs: { ...jobs.jobs, [name]: { ...job, ...(restart === undefined ? {} : { restart }) } } });
}

/** Tells the host to read jobs.json again (it also looks every second). */
export const tellHost = (hostPid: number): void => signal(hostPid, "SIGUSR1");

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone: it reads jobs.json when it starts again
  }
}

/**
 * Takes one job out of jobs.json and waits until the host stopped it (it flushes what it has
 * pending first, up to 15 s) or the host is gone. The host exits once its list is empty.
 */
export async function withdrawJob(stateDir: string, hostPid: number, name: string): Promise<void> {
  const jobs = await readHostJobs(stateDir);
  if (!Object.hasOwn(jobs.jobs, name)) return;
  const rest = { ...jobs.jobs };
  delete rest[name];
  await writeHostJobs(stateDir, { version: 1, jobs: rest });
  signal(hostPid, "SIGUSR1");
  const until = Date.now() + GRACE_MS + 2000;
  while (Date.now() < until && isAlive(hostPid)) {
    const status = await readHostStatus(stateDir).catch(() => undefined);
    if (status === undefined || status.pid !== hostPid || !Object.hasOwn(status.jobs, name)) return;
    await sleep(25);
  }
}

/**
 * Waits until the host took the job (its entry in the host's status with `specHash`) and,
 * with `watching`, until the job's own status says it watches or that it cannot (then the
 * problem). A tree whose watches take longer than 15 s to set is left starting.
 */
export async function waitForHostedJob(
  stateDir: string,
  hostPid: number,
  job: { readonly name: string; readonly specHash: string; readonly watchDir: string; readonly restarted?: boolean },
  until: "held" | "watching",
): Promise<{ readonly problem?: string }> {
  const logPath = hostFiles.output(stateLayout.hostDir(stateDir));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (!isAlive(hostPid)) throw new ApplyError(`the watch host (pid ${hostPid}) exited: ${(await logTail(logPath)) || "no message"} (log: ${logPath})`);
    const hosted = (await readHostStatus(stateDir).catch(() => undefined))?.jobs[job.name];
    if (hosted !== undefined && hosted.specHash === job.specHash) {
      if (until === "held" && (hosted.state === "held" || hosted.state === "running")) return {};
      if (until === "watching" && hosted.state === "restarting" && hosted.lastError) return { problem: `the watch host cannot run it: ${hosted.lastError.message}; it keeps retrying (rtsync status shows it)` };
      if (until === "watching" && hosted.state === "running") {
        const read = await readWatcherStatusResult(job.watchDir);
        if (!read.ok) return { problem: `the watcher runs, but its status cannot be read: ${read.error}` };
        const status = read.doc;
        // This start's document, not the one the job wrote as it stopped (a restart in place keeps pid and spec).
        if (status?.pid === hostPid && status.specHash === job.specHash && status.startedAt === hosted.jobStartedAt) {
          if (status.state === "watching") return {};
          // A restart in place: "stopped" is the old start's last word until the host publishes the
          // new start (its status is written with a delay), not a job that cannot watch.
          if (status.state === "source-down" || (status.state === "stopped" && job.restarted !== true)) {
            return { problem: `the watcher runs but cannot watch its source: ${status.lastError?.message ?? status.state}; it keeps retrying (rtsync status shows it)` };
          }
        }
      }
    }
    await sleep(20);
  }
  return {};
}

/** Stops a watcher process that ran one job alone (the layout before the host), once the host holds the job. */
export async function stopAlone(host: Host, target: { readonly pid: number; readonly uid?: number | undefined; readonly startTime?: number | undefined; readonly match: readonly string[] }): Promise<void> {
  if (isSameProcess(await readProcessInfo(host, target.pid), target)) await stopProcess(target.pid, GRACE_MS);
}
