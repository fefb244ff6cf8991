import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelay, type Backoff } from "../../core/backoff.ts";
import { messageOf } from "../../core/errors.ts";
import { fileStamp } from "../../core/file-stamp.ts";
import { startRetryingWriter } from "../../core/retrying-writer.ts";
import { readHostJobs, readHostStatus, writeHostStatus, type HostJob, type HostJobState, type HostStatus } from "../../state/host-jobs.ts";
import { hostFiles, stateLayout, watchFiles } from "../../state/layout.ts";
import { readWatchSpec } from "../../state/watch-spec.ts";
import { HOST_HEARTBEAT_EVERY_MS } from "../../state/watcher-liveness.ts";
import type { EngineOptions } from "../engine/engine.ts";
import { killLiveChildren } from "../children.ts";
import { startJob, type RunningJob } from "./job.ts";
import { HostRunningError, listenAlive, type AliveSocket } from "./alive-socket.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { jobKey, planHostJobs } from "./plan.ts";

// The watch host: `rtsync __host STATEDIR`, one long-lived process that runs every watch job of
// a stateDir (one event loop, one addon, an inotify instance per job). apply hands it the jobs by
// writing stateDir/host/jobs.json and sending SIGUSR1; it starts the jobs it does not run,
// restarts only those whose spec changed, and stops those no longer listed. Each job keeps its own
// watch directory (status.json, log.jsonl, spec.json), as a watcher process of its own did.
//
// Isolation: every job runs inside its own async context (AsyncLocalStorage), so an exception
// thrown by one job's timers, callbacks or promises is known as that job's: the job is stopped and
// started again in place with backoff (1 s doubling to 30 s) and a full sync, and the other jobs go
// on. An exception that belongs to no job ends the host (the agent, or the next apply, starts it
// again, and every job's restart full sync covers the gap).
//
// Liveness: one heartbeat for all its jobs, the modification time of host/heartbeat, set every
// 2 s (heartbeat.ts); status.json is written when a job changes, and again on the next beat when
// anyone else removed it or wrote over it.
// Signals: SIGTERM/SIGINT/SIGHUP stop every job (each flushes what it has pending) and exit;
// SIGUSR1 reads jobs.json again (it is also looked at every 2 s); SIGUSR2 runs a full sync on each
// job that has a full-sync-request.json (every job when none has one). With no job left, it exits.

export interface RunHostOptions {
  /** Stop when this aborts, in addition to the signals. */
  readonly signal?: AbortSignal;
  /** Passed on to every job's engine (tests). */
  readonly engine?: Omit<EngineOptions, "onEvent">;
  /** How often jobs.json is looked at for a change without SIGUSR1 (default every heartbeat, 2 s). */
  readonly reloadEveryMs?: number;
  /** Backoff between restarts of a failed job (default 1 s doubling up to 30 s). */
  readonly restart?: Backoff;
}

const DEFAULT_RESTART: Backoff = { initialMs: 1000, maxMs: 30_000 };
/** A host started with no job yet waits this long for one before it exits. */
const EMPTY_GRACE_MS = 10_000;
/** A job that ran this long without failing starts its next failure's backoff from the beginning. */
const STABLE_AFTER_MS = 60_000;

interface Slot {
  readonly name: string;
  desired: HostJob;
  /** The spec hash the slot runs or is starting with. */
  hash: string;
  /** jobKey of what it was last given (spec hash and restart token). */
  key: string;
  state: HostJobState;
  since: string;
  job?: RunningJob;
  /** The job's watch directory (its spec's stateDir), once its spec was read. */
  watchDir?: string;
  /** Operations on this job, one at a time (start, stop, restart). */
  chain: Promise<void>;
  restarts: number;
  /** Failures in a row (reset after a stable spell). */
  failures: number;
  /** When its job last started successfully (ms); undefined while it has not since its last failure. */
  runningSince?: number;
  retryTimer?: NodeJS.Timeout;
  /** When a failed job starts again (ms). */
  retryAt?: number;
  lastError?: { at: string; message: string };
  /** Stopped for good (removed from the list): a late failure restarts nothing. */
  removed: boolean;
}

const iso = (ms = Date.now()): string => new Date(ms).toISOString();

// /proc/PID/stat field 22 (start time in clock ticks): with the pid, a process's identity.
function startTimeOf(pid: number | "self"): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (state === "Z" || state === "X") return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

// Whether `pid` is a live watch host of `stateDir` (its command line ends in `__host STATEDIR`).
function isHostOf(pid: number, stateDir: string): boolean {
  if (startTimeOf(pid) === undefined) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
    return argv.at(-2) === "__host" && argv.at(-1) === stateDir;
  } catch {
    return false;
  }
}

/** Settles once the process that ran the job alone is gone (a handover: never two pushers at once). */
async function goneOf(after: NonNullable<HostJob["after"]>): Promise<void> {
  for (;;) {
    const now = startTimeOf(after.pid);
    if (now === undefined || (after.startTime !== undefined && now !== after.startTime)) return;
    await sleep(50);
  }
}

/** Runs the host until a stop signal (or `options.signal`), or until its job list is empty. */
export async function runWatchHost(stateDir: string, options: RunHostOptions = {}): Promise<void> {
  const hostDir = stateLayout.hostDir(stateDir);
  await mkdir(hostDir, { recursive: true, mode: 0o700 });
  // One host per stateDir (two would push every job twice): the liveness socket is the lock, and
  // the agent learns of this host's death from a connection to it (alive-socket.ts).
  const other = await readHostStatus(stateDir).catch(() => undefined);
  const another = new Error(`another watch host${other !== undefined && other.pid !== process.pid && isHostOf(other.pid, stateDir) ? ` (pid ${other.pid})` : ""} runs the jobs of ${stateDir}; this one exits`);
  if (other !== undefined && other.pid !== process.pid && isHostOf(other.pid, stateDir)) throw another;
  let alive: AliveSocket;
  try {
    alive = await listenAlive(hostFiles.alive(hostDir));
  } catch (error) {
    if (error instanceof HostRunningError) throw another;
    throw error;
  }
  const restartPolicy = options.restart ?? DEFAULT_RESTART;
  const context = new AsyncLocalStorage<string>();
  const slots = new Map<string, Slot>();
  const startedAt = iso();
  const startTime = startTimeOf("self");
  const say = (line: string): void => void process.stderr.write(`${iso()} ${line}\n`);

  const statusDoc = (): HostStatus => ({
    version: 1,
    pid: process.pid,
    ...(startTime === undefined ? {} : { startTime }),
    startedAt,
    heartbeatAt: iso(),
    jobs: Object.fromEntries(
      [...slots.values()].map((s) => [
        s.name,
        {
          specHash: s.hash,
          ...(s.job === undefined ? {} : { jobStartedAt: s.job.startedAt }),
          state: s.state,
          since: s.since,
          restarts: s.restarts,
          failures: s.failures,
          ...(s.state === "restarting" && s.retryAt !== undefined ? { retryAt: iso(s.retryAt) } : {}),
          ...(s.lastError ? { lastError: s.lastError } : {}),
        },
      ]),
    ),
  });
  // A status document removed or written over by anyone else is written again on the next
  // heartbeat (writer.repair()): apply and the agent find the host by it.
  const writer = startRetryingWriter((doc: HostStatus) => writeHostStatus(hostDir, doc), { delayMs: 100, fileOf: () => hostFiles.status(hostDir) });
  const publish = (): void => writer.update(statusDoc());
  const setState = (slot: Slot, state: HostJobState): void => {
    slot.state = state;
    slot.since = iso();
    publish();
  };
  // The heartbeat of every job: one system call every 2 s for the node; jobs.json is looked at on
  // the same beat (a stat), so a host at rest wakes every 2 s (apply's SIGUSR1 does not wait for it).
  let onBeat = (): void => undefined;
  const heartbeat = startHeartbeat(hostFiles.heartbeat(hostDir), HOST_HEARTBEAT_EVERY_MS, () => onBeat());

  const enqueue = (slot: Slot, step: () => Promise<void>): Promise<void> => {
    slot.chain = slot.chain.then(step).catch((error: unknown) => say(`job ${slot.name}: ${messageOf(error)}`));
    return slot.chain;
  };

  // Starts the slot's job inside its own async context; a start that fails is retried with backoff.
  const launch = async (slot: Slot, reason: string | undefined): Promise<void> => {
    if (slot.removed) return;
    setState(slot, "starting");
    try {
      const spec = await readWatchSpec(slot.desired.specFile);
      slot.watchDir = spec.stateDir;
      const after = slot.desired.after;
      const hold = after === undefined ? undefined : goneOf(after);
      // Handed over: the first run is a full sync whatever the spec says (the gap of the handover).
      const fullSync = reason ?? (after === undefined ? undefined : `handed over from pid ${after.pid}`);
      const job = await context.run(slot.name, () =>
        startJob(spec, {
          pid: process.pid,
          hosted: true,
          ...(options.engine === undefined ? {} : { engine: options.engine }),
          ...(hold === undefined ? {} : { hold }),
          ...(fullSync === undefined ? {} : { fullSyncAtStart: fullSync }),
        }),
      );
      slot.job = job;
      slot.hash = job.specHash;
      slot.runningSince = Date.now();
      // Tests only (never in a child environment apply builds): an exception thrown inside this job's context.
      if (process.env["RTSYNC_TEST_THROW_IN_JOB"] === slot.name && slot.restarts === 0) context.run(slot.name, () => setTimeout(() => {
        throw new Error(`fault injected into job ${slot.name} (RTSYNC_TEST_THROW_IN_JOB)`);
      }, 300));
      if (hold === undefined) setState(slot, "running");
      else {
        // Handed over: "held" once its watches are set (apply then stops the process that ran
        // it alone), "running" once that process is gone and the job's runs may start.
        void job.engine.ready.then(() => slot.job === job && slot.state === "starting" && setState(slot, "held"));
        void hold.then(() => slot.job === job && setState(slot, "running"));
      }
    } catch (error) {
      fail(slot, error);
    }
  };

  // A job failed (an exception of its own, or a start that would not go): stop what is left of it
  // and start it again after the backoff, with a full sync (events may have been lost meanwhile).
  const fail = (slot: Slot, error: unknown): void => {
    if (slot.removed || slot.state === "restarting") return;
    if (slot.runningSince !== undefined && Date.now() - slot.runningSince > STABLE_AFTER_MS) slot.failures = 0;
    delete slot.runningSince;
    const delay = backoffDelay(slot.failures, restartPolicy);
    slot.failures += 1;
    slot.restarts += 1;
    slot.lastError = { at: iso(), message: messageOf(error) };
    slot.retryAt = Date.now() + delay;
    say(`job ${slot.name} failed: ${messageOf(error)}; restarting it in ${delay} ms`);
    setState(slot, "restarting");
    const old = slot.job;
    delete slot.job;
    void enqueue(slot, async () => {
      await old?.stop().catch(() => undefined);
      await new Promise<void>((resolve) => {
        slot.retryTimer = setTimeout(resolve, delay);
      });
      if (!slot.removed) await launch(slot, "job restarted after a failure");
    });
  };

  const stopSlot = async (slot: Slot): Promise<void> => {
    clearTimeout(slot.retryTimer);
    setState(slot, "stopping");
    const job = slot.job;
    delete slot.job;
    await job?.stop();
  };

  const onFailure = (error: unknown): void => {
    const name = context.getStore();
    const slot = name === undefined ? undefined : slots.get(name);
    if (slot === undefined) {
      say(`failed outside any job: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      killLiveChildren();
      process.exit(70);
    }
    fail(slot, error);
  };
  process.on("uncaughtException", onFailure);
  process.on("unhandledRejection", onFailure);
  process.on("exit", killLiveChildren);

  let stopping = false;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });

  // Reads jobs.json and converges the slots to it; one reload at a time.
  let reloading: Promise<void> = Promise.resolve();
  let hadJobs = false;
  const bootedAt = Date.now();
  let jobsStamp = "";
  const stampOf = (): string => fileStamp(hostFiles.jobs(hostDir));
  const reload = (): Promise<void> =>
    (reloading = reloading.then(async () => {
      if (stopping) return;
      jobsStamp = stampOf();
      let desired: Record<string, HostJob>;
      try {
        desired = (await readHostJobs(stateDir)).jobs;
      } catch (error) {
        say(`keeps its jobs as they are: ${messageOf(error)}`);
        return;
      }
      const plan = planHostJobs(new Map([...slots.values()].map((s) => [s.name, s.key])), desired);
      for (const name of plan.stop) {
        const slot = slots.get(name);
        if (slot === undefined) continue;
        slot.removed = true;
        void enqueue(slot, async () => {
          await stopSlot(slot);
          slots.delete(name);
          publish();
        });
      }
      for (const name of plan.restart) {
        const slot = slots.get(name);
        const want = desired[name];
        if (slot === undefined || want === undefined) continue;
        slot.desired = want;
        slot.hash = want.specHash;
        slot.key = jobKey(want);
        void enqueue(slot, async () => {
          await stopSlot(slot);
          await launch(slot, undefined);
        });
      }
      for (const name of plan.start) {
        const want = desired[name];
        if (want === undefined) continue;
        const slot: Slot = { name, desired: want, hash: want.specHash, key: jobKey(want), state: "starting", since: iso(), chain: Promise.resolve(), restarts: 0, failures: 0, removed: false };
        slots.set(name, slot);
        void enqueue(slot, () => launch(slot, undefined));
      }
      publish();
      if (Object.keys(desired).length > 0) hadJobs = true;
      // Started ahead of its first job (apply starts it early): it waits a while for one.
      else if (hadJobs || Date.now() - bootedAt > EMPTY_GRACE_MS) {
        say("no job left: exiting");
        requestStop();
      }
    }));

  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const s of signals) process.on(s, requestStop);
  const onReload = (): void => void reload();
  process.on("SIGUSR1", onReload);
  // SIGUSR2: the jobs that were asked (full-sync-request.json), or every job.
  const onFullSync = (): void => {
    const running = [...slots.values()].filter((s) => s.job !== undefined);
    const asked = running.filter((s) => s.watchDir !== undefined && existsSync(watchFiles.fullSyncRequest(s.watchDir)));
    for (const s of asked.length > 0 ? asked : running) s.job?.requestFull();
  };
  process.on("SIGUSR2", onFullSync);
  options.signal?.addEventListener("abort", requestStop, { once: true });
  const reloadEveryMs = options.reloadEveryMs ?? HOST_HEARTBEAT_EVERY_MS;
  let lastLook = Date.now();
  onBeat = () => {
    writer.repair();
    if (Date.now() - lastLook < reloadEveryMs) return;
    lastLook = Date.now();
    if (stampOf() !== jobsStamp || (!hadJobs && slots.size === 0)) void reload();
  };

  say(`watch host started (pid ${process.pid}, ${stateDir})`);
  try {
    await reload();
    await stopRequested;
    stopping = true;
    onBeat = () => undefined;
    await reloading;
    // Every job stops side by side: a target that does not answer costs its own timeout only.
    await Promise.all([...slots.values()].map((slot) => ((slot.removed = true), enqueue(slot, () => stopSlot(slot)))));
    slots.clear();
  } finally {
    heartbeat.stop();
    for (const s of signals) process.off(s, requestStop);
    process.off("SIGUSR1", onReload);
    process.off("SIGUSR2", onFullSync);
    process.off("uncaughtException", onFailure);
    process.off("unhandledRejection", onFailure);
    process.off("exit", killLiveChildren);
    publish();
    await writer.flush();
    writer.close();
    await alive.close();
  }
}
