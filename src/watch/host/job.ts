import { mkdir } from "node:fs/promises";
import { messageOf } from "../../core/errors.ts";
import { appendLogRecord, type LogRecord } from "../../state/watch-log.ts";
import { hashWatchSpec, type WatchSpec } from "../../state/watch-spec.ts";
import { takeFullSyncRequest } from "../../state/full-sync-request.ts";
import { startWatchEngine, type EngineOptions, type WatchEngine } from "../engine/engine.ts";
import type { EngineEvent } from "../engine/events.ts";
import { buildInitialStatus, buildLogRecord, stepStatus, type StatusInput } from "../process/status.ts";
import { startStatusWriter } from "../process/status-writer.ts";
import { HEARTBEAT_EVERY_MS } from "../../state/watcher-liveness.ts";

// One watch job, running in whatever process holds it: the watch host (host/main.ts, every job of
// a node in one process) or a watcher of its own (`rtsync __watch`, process/main.ts). It owns the
// job's status.json and log.jsonl (in the job's watch directory) and its engine; the process
// around it owns signals, the exit and the children. Nothing here touches `process`.

export interface JobOptions {
  /** Passed on to the engine (tests). */
  readonly engine?: Omit<EngineOptions, "onEvent">;
  /** The process that runs the job: its pid goes into status.json. */
  readonly pid: number;
  /** How often the inotify watches are counted again after runs (default 10 s). */
  readonly watchesEveryMs?: number;
  /** Counts the job's inotify watches; absent: its own source's count (rtsync's inotify source; for the others the count it gave when it got ready stands). */
  readonly countWatches?: () => Promise<number | undefined>;
  /**
   * Hosted: the host's status.json carries the heartbeat of every job (one write a second for the
   * node, not one per job); the job's document says so and carries none of its own.
   */
  readonly hosted?: boolean;
  /** No run before this settles (a job handed over from a process that ran it alone: it must be gone first). */
  readonly hold?: Promise<void>;
  /** A full sync as soon as the watches are set, for this reason, even when the spec skips the initial sync. */
  readonly fullSyncAtStart?: string;
}

export interface RunningJob {
  readonly name: string;
  /** Its status document's startedAt: tells this start's documents from an earlier one's (same pid, same spec). */
  readonly startedAt: string;
  readonly specHash: string;
  readonly engine: WatchEngine;
  /** A full sync now, for the reason and targets in full-sync-request.json (the agent's), or for every target. */
  requestFull(): void;
  /** Stops the engine (finishing the run in flight, flushing what is pending) and writes the last status. */
  stop(): Promise<void>;
}

const WATCHES_EVERY_MS = 10_000;

/** Starts the job; resolves once its engine runs. A job whose engine will not start has written why (state stopped) and rejects. */
export async function startJob(spec: WatchSpec, options: JobOptions): Promise<RunningJob> {
  await mkdir(spec.stateDir, { recursive: true, mode: 0o700 });
  const specHash = hashWatchSpec(spec);
  let status = buildInitialStatus({
    name: spec.name,
    pid: options.pid,
    specHash,
    startedAt: Date.now(),
    initialSync: spec.initialSync,
    targets: spec.targets.map((t) => ({ key: t.key, url: t.target })),
  });
  if (options.hosted === true) status = { ...status, hosted: true, heartbeatAt: null };
  // The first write too is retried until it lands (a full disk must not crash-loop the job).
  const writer = startStatusWriter(spec.stateDir);
  writer.update(status);
  await writer.flush();
  let logChain: Promise<void> = Promise.resolve();
  const log = (record: LogRecord): void => {
    logChain = logChain.then(() => appendLogRecord(spec.stateDir, record)).catch(() => undefined);
  };
  const update = (input: StatusInput): void => {
    status = stepStatus(status, input);
    writer.update(status);
  };
  // Directories come and go with changes and runs: the watches are counted again a few seconds
  // after one, and again until two counts agree (inotifywait adds the watches of new directories
  // while runs go on). A timer only while there is something to count: a job at rest never wakes.
  // Counted by the caller (a process of its own: its whole tree), else by the job's own source (in
  // the watch host the process's watches are every job's; rtsync's inotify source keeps a count).
  const ref: { engine?: WatchEngine } = {};
  const count = options.countWatches ?? (() => Promise.resolve(ref.engine?.watches()));
  let lastCount: number | undefined;
  let countTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const scheduleCount = (): void => {
    if (countTimer !== undefined || closed) return;
    countTimer = setTimeout(() => {
      countTimer = undefined;
      void count().then((watches) => {
        if (watches !== lastCount) scheduleCount(); // changed: count again to see it settle
        lastCount = watches;
        if (watches !== undefined && watches !== status.watches) update({ type: "watches-counted", at: Date.now(), watches });
      });
    }, options.watchesEveryMs ?? WATCHES_EVERY_MS);
    countTimer.unref();
  };
  scheduleCount();
  const onEvent = (event: EngineEvent): void => {
    update(event);
    // Watching: on disk at once (apply waits for it, job after job), not at the writer's next turn.
    if (event.type === "source-ready") void writer.flush();
    if (event.type === "run-done" || event.type === "source-ready" || event.type === "changes") scheduleCount();
    const record = buildLogRecord(event);
    if (record !== undefined) log(record);
  };
  // The heartbeat: proof, every second, that this process and its event loop run (a SIGSTOPped or
  // stuck watcher keeps its pid but stops beating; the agent replaces it). Hosted: the host's.
  const heartbeat = options.hosted === true ? undefined : setInterval(() => update({ type: "heartbeat", at: Date.now() }), HEARTBEAT_EVERY_MS);
  heartbeat?.unref();
  const close = async (): Promise<void> => {
    closed = true;
    clearTimeout(countTimer);
    clearInterval(heartbeat);
    await logChain;
    await writer.flush();
  };

  let engine: WatchEngine;
  try {
    engine = await startWatchEngine(spec, {
      ...options.engine,
      onEvent,
      ...(options.hold === undefined ? {} : { hold: options.hold }),
      ...(options.fullSyncAtStart === undefined ? {} : { fullSyncAtStart: options.fullSyncAtStart }),
    });
  } catch (error) {
    status = { ...status, state: "stopped", lastError: { at: new Date().toISOString(), message: messageOf(error) } };
    writer.update(status);
    await close();
    throw error;
  }
  // Handed over: the process that ran the job alone wrote its last status.json meanwhile; this
  // job's goes over it once that process is gone.
  void options.hold?.then(() => {
    status = { ...status, updatedAt: new Date().toISOString() };
    writer.update(status);
  });
  ref.engine = engine;
  let stopped: Promise<void> | undefined;
  return {
    name: spec.name,
    startedAt: status.startedAt,
    specHash,
    engine,
    requestFull: () =>
      void takeFullSyncRequest(spec.stateDir)
        .catch(() => undefined)
        .then((request) => engine.requestFull(request?.reason ?? "full sync requested (SIGUSR2)", request?.targets)),
    stop: () =>
      (stopped ??= (async () => {
        try {
          await engine.stop();
        } finally {
          await close();
        }
      })()),
  };
}
