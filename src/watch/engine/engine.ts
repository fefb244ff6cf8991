import { RtsyncError, messageOf } from "../../core/errors.ts";
import {
  DEFAULT_BATCHER_CONFIG,
  INITIAL_STATE,
  fullSyncPending,
  pendingCount,
  step,
  type Batch,
  type BatcherConfig,
  type BatcherInput,
  type BatcherState,
  type Change,
} from "../batching/batcher.ts";
import { displayPath } from "../byte-path.ts";
import { buildChanges } from "../batching/changes.ts";
import type { EngineEvent, RunKind } from "./events.ts";
import { buildExcludeMatcher } from "../batching/exclude-match.ts";
import { runBatch, type BatchResult } from "../rsync/batch.ts";
import { parseSchedule, type Schedule } from "./scheduler.ts";
import { loadEventSource } from "../sources/select.ts";
import { WatchSourceError, fullSyncRequest, type EventSource, type ResolvedWatcher, type SourceEvent, type Subscription } from "../sources/source.ts";
import type { WatchSpec } from "../../state/watch-spec.ts";

// The wiring: event source -> changes -> batcher -> rsync runs, plus the full-sync schedule and
// the source's supervision. All decisions live in the pure parts; this file owns the timers,
// the child processes and the order of things:
//
// - start: watches first; once they are established, the initial full sync. Events that arrive
//   during it are held by the batcher and go out after it, so nothing changed at start-up is lost.
// - the source fails (exits, errors, the root vanishes): restart it with backoff, and once its
//   watches are back run a full sync, since events may have been dropped meanwhile.
// - stop: stop watching, let the run in flight finish (or cancel it after `stopTimeoutMs`),
//   flush what is pending once if the target answers in time, and return.

export interface EngineOptions {
  /** Receives every engine event; the library itself never prints. */
  readonly onEvent?: (event: EngineEvent) => void;
  /** Tuning of the batcher (the spec's delayMs wins over `delayMs` here unless given). */
  readonly batcher?: Partial<BatcherConfig>;
  /** Use this source instead of the one `spec.watcher` selects. */
  readonly eventSource?: EventSource;
  readonly inotifywaitBinary?: string;
  readonly rsyncBinary?: string;
  /** How long stop() waits for the run in flight, and then for the final flush (default 5 s). */
  readonly stopTimeoutMs?: number;
  /** Backoff between restarts of a failed source (default 1 s doubling up to 30 s). */
  readonly restartInitialMs?: number;
  readonly restartMaxMs?: number;
}

export interface WatchEngine {
  readonly watcher: ResolvedWatcher;
  /** Settles when watches are established for the first time. */
  readonly ready: Promise<{ readonly watches: number }>;
  /** Changes waiting for a run. */
  pending(): number;
  /** Nothing pending and no run in flight. */
  idle(): boolean;
  /** Stops watching and flushes; see the header of this file. */
  stop(): Promise<void>;
}

interface InFlight {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

const COALESCE_MS = 5;
const BUSY_COALESCE_MS = 100;
const MAX_TIMER_MS = 86_400_000; // setTimeout overflows past 2^31 ms; re-arm daily instead
const SAMPLE = 20;

function sampleOf(batch: Batch): string[] {
  if (batch.kind === "full") return [];
  return [...batch.entries.keys()].slice(0, SAMPLE).map(displayPath);
}

/** Starts watching `spec.source` and replicating to `spec.target`; resolves once the source is subscribed. */
export async function startWatchEngine(spec: WatchSpec, options: EngineOptions = {}): Promise<WatchEngine> {
  const config: BatcherConfig = { ...DEFAULT_BATCHER_CONFIG, delayMs: spec.delayMs, ...options.batcher };
  const emit = options.onEvent ?? (() => undefined);
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  const restartInitialMs = options.restartInitialMs ?? 1000;
  const restartMaxMs = options.restartMaxMs ?? 30_000;
  const excluded = buildExcludeMatcher(spec.exclude);
  let schedule: Schedule | undefined;
  if (spec.fullSyncSchedule !== undefined) {
    const parsed = parseSchedule(spec.fullSyncSchedule);
    if (!parsed.ok) throw new RtsyncError("E_WATCH", "user", `watch ${spec.name}: ${parsed.message}`);
    schedule = parsed.schedule;
  }
  const source =
    options.eventSource ??
    (await loadEventSource({
      watcher: spec.watcher,
      source: spec.source,
      excluded,
      ...(options.inotifywaitBinary === undefined ? {} : { inotifywaitBinary: options.inotifywaitBinary }),
    }));

  let state: BatcherState = INITIAL_STATE;
  let inFlight: InFlight | undefined;
  let stopping = false;
  let allowLaunch = false;
  let fullReason = "too many changes";
  let batchTimer: NodeJS.Timeout | undefined;
  let scheduleTimer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let sub: Subscription | undefined;
  let restartAttempt = 0;
  let resolveReady!: (v: { watches: number }) => void;
  const ready = new Promise<{ watches: number }>((res) => {
    resolveReady = res;
  });

  const armBatchTimer = (wakeAt: number | undefined): void => {
    clearTimeout(batchTimer);
    batchTimer = undefined;
    if (wakeAt === undefined || stopping) return;
    batchTimer = setTimeout(() => dispatch({ type: "tick", now: performance.now() }), Math.max(0, wakeAt - performance.now()));
  };

  const dispatch = (input: BatcherInput): void => {
    const before = state.phase;
    const result = step(state, input, config);
    state = result.state;
    if (result.gaveUp !== undefined) {
      const { batch, outcome } = result.gaveUp;
      emit({
        type: "gave-up",
        at: Date.now(),
        kind: batch.kind,
        paths: batch.kind === "full" ? 0 : batch.entries.size,
        sample: sampleOf(batch),
        outcome,
      });
    }
    const next = result.state;
    if (next.phase === "backoff" && before === "running") {
      emit({ type: "retry-scheduled", at: Date.now(), retryAt: Date.now() + (next.retryAt - performance.now()), attempt: next.attempt });
    }
    if (result.run !== undefined) {
      if (stopping && !allowLaunch) {
        dispatch({ type: "run-done", outcome: "cancelled", now: performance.now() });
        return;
      }
      launch(result.run);
    }
    armBatchTimer(result.wakeAt);
  };

  const launch = (batch: Batch): void => {
    const controller = new AbortController();
    const kind: RunKind = batch.kind;
    const paths = batch.kind === "full" ? 0 : batch.entries.size;
    const reason = batch.kind === "full" ? fullReason : "changes";
    fullReason = "too many changes";
    emit({ type: "run-start", at: Date.now(), kind, paths, reason });
    const done = runBatch(spec, batch, {
      signal: controller.signal,
      ...(options.rsyncBinary === undefined ? {} : { rsyncBinary: options.rsyncBinary }),
      onProgress: (progress) => emit({ type: "run-progress", at: Date.now(), progress }),
    })
      .catch((error: unknown): BatchResult => ({ outcome: "fatal", exitCode: -1, durationMs: 0, messages: [messageOf(error)] }))
      .then((result) => {
        inFlight = undefined;
        deliverQueued(); // what arrived during the run joins the next batch
        emit({
          type: "run-done",
          at: Date.now(),
          run: {
            kind,
            reason,
            paths,
            exitCode: result.exitCode,
            outcome: result.outcome,
            durationMs: result.durationMs,
            messages: result.messages,
            ...(result.bytesSent === undefined ? {} : { bytesSent: result.bytesSent }),
            ...(result.renameSteps === undefined ? {} : { renameSteps: result.renameSteps }),
          },
          pending: pendingCount(state),
        });
        dispatch({ type: "run-done", outcome: result.outcome, now: performance.now() });
      });
    inFlight = { controller, done };
  };

  // Changes reach the batcher at most every COALESCE_MS, the first after a quiet spell at once;
  // while a run is in flight (they can only go out after it) at most every BUSY_COALESCE_MS, and
  // all of them just before its end is dispatched. Each step may copy the pending set (the
  // batcher is pure): one step per inotifywait read made a storm quadratic, 50,000 new files
  // cost the watcher 10-15 s of CPU, most of it copying maps of thousands of pending paths.
  let queued: Change[] = [];
  let queueTimer: NodeJS.Timeout | undefined;
  let lastDeliveryAt = -Infinity;
  const deliverQueued = (): void => {
    clearTimeout(queueTimer);
    queueTimer = undefined;
    if (queued.length === 0) return;
    const changes = queued;
    queued = [];
    lastDeliveryAt = performance.now();
    dispatch({ type: "changed", changes, now: lastDeliveryAt });
    emit({ type: "changes", at: Date.now(), count: changes.length, pending: pendingCount(state) });
  };
  const queueChanges = (changes: readonly Change[]): void => {
    if (changes.length === 0) return;
    for (const c of changes) queued.push(c);
    if (queueTimer !== undefined) return;
    const busy = state.phase === "running" || state.phase === "backoff";
    const wait = lastDeliveryAt + (busy ? BUSY_COALESCE_MS : COALESCE_MS) - performance.now();
    if (wait <= 0) deliverQueued();
    else queueTimer = setTimeout(deliverQueued, wait);
  };

  const requestFull = (reason: string): void => {
    deliverQueued(); // a full sync subsumes the changes seen before it
    fullReason = reason;
    dispatch({ type: "full-sync", now: performance.now() });
  };

  const failSource = (error: unknown): void => {
    const old = sub;
    sub = undefined;
    void old?.close();
    if (stopping) return;
    const delay = Math.min(restartMaxMs, restartInitialMs * 2 ** restartAttempt);
    restartAttempt++;
    const err = error instanceof WatchSourceError ? error : new WatchSourceError("failed", messageOf(error), { cause: error });
    emit({ type: "source-error", at: Date.now(), reason: err.reason, message: err.message, retryInMs: delay });
    restartTimer = setTimeout(() => subscribe(true), delay);
  };

  const subscribe = (afterError: boolean): void => {
    if (stopping) return;
    const current: Subscription = source.subscribe({
      onEvents: (events) => {
        if (sub !== current || stopping) return;
        // Events were dropped, or the source cannot trust its names: a full sync at once. It
        // subsumes what came before it in the batch; what came after goes out after it.
        let from = 0;
        for (let i = 0; i < events.length; i++) {
          const full = fullSyncRequest(events[i] as SourceEvent);
          if (full === undefined) continue;
          queueChanges(buildChanges(events.slice(from, i), excluded));
          if (full.overflow) emit({ type: "overflow", at: Date.now(), watcher: source.kind });
          requestFull(full.reason);
          from = i + 1;
        }
        queueChanges(buildChanges(from === 0 ? events : events.slice(from), excluded));
      },
      onError: (error) => {
        if (sub === current) failSource(error);
      },
    });
    sub = current;
    current.ready.then(
      ({ watches }) => {
        if (sub !== current || stopping) return;
        restartAttempt = 0;
        emit({ type: "source-ready", at: Date.now(), watcher: source.kind, watches, ...(source.why === undefined ? {} : { why: source.why }) });
        resolveReady({ watches });
        if (afterError) requestFull("watcher restarted");
        else if (spec.initialSync) requestFull("initial sync");
      },
      (error: unknown) => {
        if (sub === current) failSource(error);
      },
    );
  };

  const armSchedule = (): void => {
    if (schedule === undefined || stopping) return;
    const nextAt = schedule.nextAfter(Date.now());
    emit({ type: "full-sync-scheduled", at: Date.now(), nextAt });
    const wait = (): void => {
      const left = nextAt - Date.now();
      if (left > 0) {
        scheduleTimer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
        return;
      }
      requestFull("schedule");
      armSchedule();
    };
    wait();
  };

  // Lets the run in flight end, cancelling it after `ms`.
  const settleInFlight = async (ms: number): Promise<void> => {
    const current = inFlight;
    if (current === undefined) return;
    const timer = setTimeout(() => current.controller.abort(), ms);
    await current.done;
    clearTimeout(timer);
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      emit({ type: "stopping", at: Date.now() });
      clearTimeout(batchTimer);
      clearTimeout(scheduleTimer);
      clearTimeout(restartTimer);
      const old = sub;
      sub = undefined;
      await old?.close();
      await settleInFlight(stopTimeoutMs);
      deliverQueued();
      // A pending full sync is not worth a hurried attempt: the next start runs one anyway.
      if (pendingCount(state) > 0 && !fullSyncPending(state)) {
        allowLaunch = true;
        dispatch({ type: "flush", now: performance.now() });
        allowLaunch = false;
        await settleInFlight(stopTimeoutMs);
      }
      clearTimeout(batchTimer);
      emit({ type: "stopped", at: Date.now(), pending: pendingCount(state) });
    })();
    return stopped;
  };

  subscribe(false);
  armSchedule();

  return {
    watcher: source.kind,
    ready,
    pending: () => pendingCount(state) + queued.length,
    idle: () => state.phase === "idle" && inFlight === undefined && queued.length === 0,
    stop,
  };
}
