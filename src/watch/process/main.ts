import { mkdir } from "node:fs/promises";
import { messageOf } from "../../core/errors.ts";
import { appendLogRecord, type LogRecord } from "../../state/watch-log.ts";
import { hashWatchSpec, readWatchSpec } from "../../state/watch-spec.ts";
import { takeFullSyncRequest } from "../../state/full-sync-request.ts";
import { startWatchEngine, type EngineOptions } from "../engine/engine.ts";
import type { EngineEvent } from "../engine/events.ts";
import { killLiveChildren } from "../children.ts";
import { buildInitialStatus, buildLogRecord, stepStatus, type StatusInput } from "./status.ts";
import { startStatusWriter } from "./status-writer.ts";
import { readTreeWatches } from "./watch-count.ts";
import { HEARTBEAT_EVERY_MS } from "../../state/watcher-liveness.ts";

// The watcher process: `rtsync __watch SPEC.json` calls runWatcher. It runs until SIGTERM or
// SIGINT, then stops the engine (finishing or cancelling the run in flight and flushing what is
// pending if the target answers within a few seconds) and returns. It is the only writer of its
// status.json and log.jsonl.

export interface RunWatcherOptions {
  /** Stop when this aborts, in addition to SIGTERM/SIGINT. */
  readonly signal?: AbortSignal;
  /** Passed on to the engine (tests). */
  readonly engine?: Omit<EngineOptions, "onEvent">;
  /** How often the inotify watches are counted again after runs (default 10 s). */
  readonly watchesEveryMs?: number;
}

const WATCHES_EVERY_MS = 10_000;

/** Runs one watcher until SIGTERM/SIGINT (or `options.signal`); writes status.json and log.jsonl. */
export async function runWatcher(specPath: string, options: RunWatcherOptions = {}): Promise<void> {
  const spec = await readWatchSpec(specPath);
  await mkdir(spec.stateDir, { recursive: true, mode: 0o700 });
  let status = buildInitialStatus({
    name: spec.name,
    pid: process.pid,
    specHash: hashWatchSpec(spec),
    startedAt: Date.now(),
    initialSync: spec.initialSync,
    targets: spec.targets.map((t) => ({ key: t.key, url: t.target })),
  });
  // The first write too is retried until it lands (a full disk must not crash-loop the watcher).
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
  // Directories come and go with changes and runs: the watches are counted again every few seconds after one,
  // until two counts agree (inotifywait adds the watches of new directories while runs go on).
  let dirty = true;
  let lastCount: number | undefined;
  const onEvent = (event: EngineEvent): void => {
    update(event);
    if (event.type === "run-done" || event.type === "source-ready" || event.type === "changes") dirty = true;
    const record = buildLogRecord(event);
    if (record !== undefined) log(record);
  };
  const countWatches = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    void readTreeWatches(process.pid).then((watches) => {
      if (watches !== lastCount) dirty = true; // changed: count again to see it settle
      lastCount = watches;
      if (watches !== undefined && watches !== status.watches) update({ type: "watches-counted", at: Date.now(), watches });
    });
  }, options.watchesEveryMs ?? WATCHES_EVERY_MS);
  countWatches.unref();
  // The heartbeat: proof, every second, that this process and its event loop run (a SIGSTOPped or
  // stuck watcher keeps its pid but stops beating; the agent replaces it).
  const heartbeat = setInterval(() => update({ type: "heartbeat", at: Date.now() }), HEARTBEAT_EVERY_MS);
  heartbeat.unref();
  // A crash must not leave inotifywait or rsync behind (SIGKILL is setpriv's job: children.ts).
  process.on("exit", killLiveChildren);

  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const s of signals) process.on(s, requestStop);
  let onFullSyncRequest = (): void => undefined; // until the engine runs: its start runs one anyway
  const fullSyncSignal = (): void => onFullSyncRequest();
  process.on("SIGUSR2", fullSyncSignal);
  options.signal?.addEventListener("abort", requestStop, { once: true });
  try {
    let engine;
    try {
      engine = await startWatchEngine(spec, { ...options.engine, onEvent });
    } catch (error) {
      status = { ...status, state: "stopped", lastError: { at: new Date().toISOString(), message: messageOf(error) } };
      writer.update(status); // written by the flush below
      throw error;
    }
    // SIGUSR2: a full sync now, for the reason and targets in full-sync-request.json (the agent's).
    const started = engine;
    onFullSyncRequest = () =>
      void takeFullSyncRequest(spec.stateDir)
        .catch(() => undefined)
        .then((request) => started.requestFull(request?.reason ?? "full sync requested (SIGUSR2)", request?.targets));
    await stopRequested;
    await engine.stop();
  } finally {
    clearInterval(countWatches);
    clearInterval(heartbeat);
    process.off("exit", killLiveChildren);
    for (const s of signals) process.off(s, requestStop);
    process.off("SIGUSR2", fullSyncSignal);
    await logChain;
    await writer.flush();
  }
}
