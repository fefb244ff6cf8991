import { messageOf } from "../../core/errors.ts";
import { parseSchedule, type Schedule } from "../../core/cron.ts";
import type { Backoff } from "../../core/backoff.ts";
import { RtsyncError } from "../../core/errors.ts";
import type { WatchSpec } from "../../state/watch-spec.ts";
import { DEFAULT_BATCHER_CONFIG, INITIAL_STATE, fullSyncPending, pendingCount, step, type BatcherInput, type BatcherState, type Step } from "../batching/batcher.ts";
import { buildChanges } from "../batching/changes.ts";
import { buildExcludeMatcher } from "../batching/exclude-match.ts";
import type { Batch, BatcherConfig } from "../batching/types.ts";
import { displayPath } from "../byte-path.ts";
import { runBatch, type BatchResult } from "../rsync/batch.ts";
import { firstErrorLine, parseFailureReasons, parseSkippedDeletions } from "../rsync/result.ts";
import { checkFullSync } from "../guard/check.ts";
import { baselineOf, maxDeleteHaltMessage, type SourceBaseline } from "../guard/decide.ts";
import { readSourceRoot } from "../guard/source-root.ts";
import { loadEventSource } from "../sources/select.ts";
import { WatchSourceError, fullSyncRequest, type EventSource, type SourceEvent, type Subscription } from "../sources/source.ts";
import { EMPTY_COALESCER, queuedCount, stepCoalescer, type CoalescerInput, type CoalescerState } from "./coalescer.ts";
import type { EngineEvent, RunKind } from "./events.ts";
import { DEFAULT_SOURCE_RESTART, FRESH_SOURCE, planSourceRestart, type RestartState } from "./restart-policy.ts";
import { DEFAULT_REPAIR, NO_REPAIR, stepRepair, type RepairState } from "./repair-policy.ts";
import { startScheduleTimer, type ScheduleTimer } from "./schedule-timer.ts";

// The wiring of one watch job: event source -> coalescer -> batcher -> rsync runs, plus the
// full-sync schedule and the restart of a failed source. What to send and when is decided by the
// pure parts (batching/batcher.ts, engine/coalescer.ts, engine/restart-policy.ts); this file owns
// the timers, the child processes and the order of things:
//
// - start: watches first; once they are established, the initial full sync. Events that arrive
//   during it are held by the batcher and go out after it, so nothing changed at start-up is lost.
// - the source fails (exits, errors, the root vanishes): restart it with backoff, and once its
//   watches are back run a full sync, since events may have been dropped meanwhile.
// - stop: stop watching, let the run in flight finish (or cancel it after `stopTimeoutMs`),
//   flush what is pending once if the target answers in time, and return.
// - a batch given up (a partial transfer after its retries, a failed full sync): a full sync
//   repairs it soon, again with backoff until one succeeds (engine/repair-policy.ts).
// - every full sync first passes the deletion guard (guard/decide.ts): a source root that is
//   missing, unmounted, on another device or emptied halts the job instead, as does a full sync
//   that hit maxDelete. Halted, the engine runs no rsync at all until it is started again.

export interface EngineOptions {
  /** Receives every engine event; the library itself never prints. */
  readonly onEvent?: (event: EngineEvent) => void;
  /** Tuning of the batcher (the spec's delayMs wins over `delayMs` here unless given). */
  readonly batcher?: Partial<BatcherConfig>;
  /** Use this source instead of the one `spec.watcher` selects. */
  readonly eventSource?: EventSource;
  /** How long stop() waits for the run in flight, and then for the final flush (default 5 s). */
  readonly stopTimeoutMs?: number;
  /** Backoff between restarts of a failed source (default 1 s doubling up to 30 s). */
  readonly sourceRestart?: Backoff;
  /** Backoff between full syncs that repair given-up paths (default 30 s doubling up to 10 min). */
  readonly repair?: Backoff;
}

export interface WatchEngine {
  readonly watcher: EventSource["kind"];
  /** Settles when watches are established for the first time. */
  readonly ready: Promise<{ readonly watches: number }>;
  /** Changes not on the target yet: waiting, in flight, waiting for a retry or for a repair. */
  pending(): number;
  /** The job halted (deletion guard, maxDelete): it runs no rsync any more. */
  halted(): boolean;
  /** Nothing pending and no run in flight. */
  idle(): boolean;
  /** Stops watching and flushes; see the header of this file. */
  stop(): Promise<void>;
}

interface InFlight {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

const SAMPLE = 20;

function sampleOf(batch: Batch): string[] {
  if (batch.kind === "full") return [];
  return [...batch.entries.keys()].slice(0, SAMPLE).map(displayPath);
}

function scheduleOf(spec: WatchSpec): Schedule | undefined {
  if (spec.fullSyncSchedule === undefined) return undefined;
  const parsed = parseSchedule(spec.fullSyncSchedule);
  if (!parsed.ok) throw new RtsyncError("E_WATCH", "user", `watch ${spec.name}: fullSync.schedule "${spec.fullSyncSchedule}" ${parsed.message}`);
  return parsed.schedule;
}

/** Starts watching `spec.source` and replicating to `spec.target`; resolves once the source is subscribed. */
export async function startWatchEngine(spec: WatchSpec, options: EngineOptions = {}): Promise<WatchEngine> {
  const config: BatcherConfig = { ...DEFAULT_BATCHER_CONFIG, delayMs: spec.delayMs, ...options.batcher };
  const emit = options.onEvent ?? (() => undefined);
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  const restartPolicy = options.sourceRestart ?? DEFAULT_SOURCE_RESTART;
  const repairPolicy = options.repair ?? DEFAULT_REPAIR;
  const excluded = buildExcludeMatcher(spec.exclude);
  const schedule = scheduleOf(spec);
  const source =
    options.eventSource ??
    (await loadEventSource({
      watcher: spec.watcher,
      source: spec.source,
      excluded,
      ...(spec.inotifywait === undefined ? {} : { inotifywait: spec.inotifywait }),
      ...(spec.setpriv === undefined ? {} : { setpriv: spec.setpriv }),
    }));

  let state: BatcherState = INITIAL_STATE;
  let coalescer: CoalescerState = EMPTY_COALESCER;
  let restart: RestartState = FRESH_SOURCE;
  let inFlight: InFlight | undefined;
  let stopping = false;
  let allowLaunch = false;
  let fullReason = "too many changes";
  let batchTimer: NodeJS.Timeout | undefined;
  let coalesceTimer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let repairTimer: NodeJS.Timeout | undefined;
  let scheduleTimer: ScheduleTimer | undefined;
  let repair: RepairState = NO_REPAIR;
  let lastPending = 0;
  // The source root as the watcher started with it: what the deletion guard compares against.
  let baseline: SourceBaseline | undefined = baselineOf(await readSourceRoot(spec.source, excluded));
  let sub: Subscription | undefined;
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

  const pendingNow = (): number => pendingCount(state) + queuedCount(coalescer) + repair.paths;

  // Tells status when the number of changes not on the target changed.
  const notePending = (): void => {
    const pending = pendingNow();
    if (pending === lastPending) return;
    lastPending = pending;
    emit({ type: "pending", at: Date.now(), pending });
  };

  // One input to the batcher; carries out the run it asks for and arms its next wake-up.
  const dispatch = (input: BatcherInput): Step => {
    const before = state.phase;
    const result = step(state, input, config);
    const next = result.state;
    state = next;
    if (next.phase === "backoff" && before === "running" && input.type === "run-done") {
      emit({ type: "retry-scheduled", at: Date.now(), retryAt: Date.now() + (next.retryAt - performance.now()), attempt: next.attempt, outcome: input.outcome });
    }
    if (result.run !== undefined) {
      if (stopping && !allowLaunch) {
        dispatch({ type: "run-done", outcome: "cancelled", now: performance.now() });
        return result;
      }
      launch(result.run);
    }
    armBatchTimer(result.wakeAt);
    notePending();
    return result;
  };

  const armRepairTimer = (): void => {
    clearTimeout(repairTimer);
    repairTimer = undefined;
    const dueAt = repair.dueAt;
    if (dueAt === undefined || stopping || state.phase === "halted") return;
    repairTimer = setTimeout(() => {
      repair = stepRepair(repair, { type: "fired", now: performance.now() }, repairPolicy);
      requestFull("repair");
    }, Math.max(0, dueAt - performance.now()));
  };

  // A batch failed for good: say why, and schedule the full sync that repairs it.
  const gaveUp = (given: NonNullable<Step["gaveUp"]>, messages: readonly string[]): void => {
    const { batch, outcome } = given;
    const paths = batch.kind === "full" ? 0 : batch.entries.size;
    const detail = firstErrorLine(messages);
    emit({
      type: "gave-up",
      at: Date.now(),
      kind: batch.kind,
      paths,
      sample: sampleOf(batch),
      outcome,
      reasons: parseFailureReasons(messages),
      ...(detail === undefined ? {} : { detail }),
    });
    const wasDue = repair.dueAt;
    repair = stepRepair(repair, { type: "gave-up", paths, now: performance.now() }, repairPolicy);
    if (repair.dueAt !== undefined && repair.dueAt !== wasDue) {
      emit({ type: "repair-scheduled", at: Date.now(), repairAt: Date.now() + (repair.dueAt - performance.now()), attempt: repair.attempt });
    }
    armRepairTimer();
  };

  // No rsync runs any more: status says why; a restart of the watcher is the way out.
  const halt = (reason: Extract<EngineEvent, { type: "halted" }>["reason"], message: string): void => {
    clearTimeout(repairTimer);
    scheduleTimer?.stop();
    emit({ type: "halted", at: Date.now(), reason, message });
  };

  // One input to the coalescer; what it delivers goes to the batcher.
  const coalesce = (input: CoalescerInput): void => {
    const result = stepCoalescer(coalescer, input);
    coalescer = result.state;
    if (result.deliver !== undefined) {
      dispatch({ type: "changed", changes: result.deliver, now: performance.now() });
      emit({ type: "changes", at: Date.now(), count: result.deliver.length, pending: pendingNow() });
    }
    const wakeAt = coalescer.wakeAt;
    if (wakeAt !== undefined && coalesceTimer === undefined) {
      coalesceTimer = setTimeout(() => {
        coalesceTimer = undefined;
        coalesce({ type: "timer", now: performance.now() });
      }, Math.max(0, wakeAt - performance.now()));
    } else if (wakeAt === undefined && coalesceTimer !== undefined) {
      clearTimeout(coalesceTimer);
      coalesceTimer = undefined;
    }
  };

  // A full sync runs only past the deletion guard; anything else runs at once.
  const runGuarded = async (batch: Batch, signal: AbortSignal, start: () => void): Promise<BatchResult | { readonly halted: true }> => {
    if (batch.kind === "full") {
      const guard = await checkFullSync({ spec, excluded, baseline, signal });
      baseline = guard.baseline;
      if (guard.outcome.kind === "halt") {
        halt(guard.outcome.reason, guard.outcome.message);
        return { halted: true };
      }
      if (guard.outcome.kind === "failed") {
        start();
        return guard.outcome.result;
      }
    }
    start();
    return runBatch(spec, batch, {
      signal,
      onProgress: (progress) => emit({ type: "run-progress", at: Date.now(), progress }),
    });
  };

  const launch = (batch: Batch): void => {
    const controller = new AbortController();
    const kind: RunKind = batch.kind;
    const listed = batch.kind === "full" ? 0 : batch.entries.size;
    const reason = batch.kind === "full" ? fullReason : "changes";
    fullReason = "too many changes";
    const start = (): void => emit({ type: "run-start", at: Date.now(), kind, paths: listed, reason });
    const done = runGuarded(batch, controller.signal, start)
      .catch((error: unknown): BatchResult => ({ outcome: "fatal", exitCode: -1, durationMs: 0, messages: [messageOf(error)] }))
      .then((result) => {
        inFlight = undefined;
        coalesce({ type: "flush", now: performance.now() }); // what arrived during the run joins the next batch
        if ("halted" in result) {
          dispatch({ type: "halt", now: performance.now() });
          return;
        }
        const paths = kind === "full" ? (result.transferred ?? 0) : listed;
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
            ...(kind === "full" && result.deleted !== undefined ? { deleted: result.deleted } : {}),
            ...(result.renameSteps === undefined ? {} : { renameSteps: result.renameSteps }),
          },
          pending: pendingNow(),
        });
        if (kind === "full" && result.outcome === "ok") {
          repair = stepRepair(repair, { type: "full-ok", now: performance.now() }, repairPolicy);
          armRepairTimer();
        }
        const stepped = dispatch({ type: "run-done", outcome: result.outcome, now: performance.now() });
        if (stepped.gaveUp !== undefined) gaveUp(stepped.gaveUp, result.messages);
        if (result.outcome === "max-delete") {
          halt("max-delete", maxDeleteHaltMessage(spec.maxDelete, result.deleted, parseSkippedDeletions(result.messages)));
        }
        notePending();
      });
    inFlight = { controller, done };
  };

  const requestFull = (reason: string): void => {
    coalesce({ type: "flush", now: performance.now() }); // a full sync subsumes the changes seen before it
    fullReason = reason;
    dispatch({ type: "full-sync", now: performance.now() });
  };

  const failSource = (error: unknown): void => {
    const old = sub;
    sub = undefined;
    void old?.close();
    if (stopping) return;
    const next = planSourceRestart(restart, restartPolicy);
    restart = next.state;
    const err = error instanceof WatchSourceError ? error : new WatchSourceError("failed", messageOf(error), { cause: error });
    emit({ type: "source-error", at: Date.now(), reason: err.reason, message: err.message, retryInMs: next.delayMs });
    restartTimer = setTimeout(() => subscribe(true), next.delayMs);
  };

  const subscribe = (afterError: boolean): void => {
    if (stopping) return;
    const current: Subscription = source.subscribe({
      onEvents: (events) => {
        if (sub !== current || stopping) return;
        // Events were dropped, or the source cannot trust its names: a full sync at once. It
        // subsumes what came before it in the batch; what came after goes out after it.
        const busy = state.phase === "running" || state.phase === "backoff";
        let from = 0;
        for (let i = 0; i < events.length; i++) {
          const full = fullSyncRequest(events[i] as SourceEvent);
          if (full === undefined) continue;
          coalesce({ type: "add", changes: buildChanges(events.slice(from, i), excluded), busy, now: performance.now() });
          if (full.overflow) emit({ type: "overflow", at: Date.now(), watcher: source.kind });
          requestFull(full.reason);
          from = i + 1;
        }
        coalesce({ type: "add", changes: buildChanges(from === 0 ? events : events.slice(from), excluded), busy, now: performance.now() });
      },
      onError: (error) => {
        if (sub === current) failSource(error);
      },
    });
    sub = current;
    current.ready.then(
      ({ watches }) => {
        if (sub !== current || stopping) return;
        restart = FRESH_SOURCE;
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
      clearTimeout(restartTimer);
      clearTimeout(repairTimer);
      scheduleTimer?.stop();
      const old = sub;
      sub = undefined;
      await old?.close();
      await settleInFlight(stopTimeoutMs);
      coalesce({ type: "flush", now: performance.now() });
      // A pending full sync is not worth a hurried attempt: the next start runs one anyway.
      if (pendingCount(state) > 0 && !fullSyncPending(state)) {
        allowLaunch = true;
        dispatch({ type: "flush", now: performance.now() });
        allowLaunch = false;
        await settleInFlight(stopTimeoutMs);
      }
      clearTimeout(batchTimer);
      clearTimeout(coalesceTimer);
      emit({ type: "stopped", at: Date.now(), pending: pendingNow() });
    })();
    return stopped;
  };

  subscribe(false);
  if (schedule !== undefined) {
    scheduleTimer = startScheduleTimer(schedule, {
      onArmed: (nextAt) => emit({ type: "full-sync-scheduled", at: Date.now(), nextAt }),
      onFire: () => requestFull("schedule"),
    });
  }

  return {
    watcher: source.kind,
    ready,
    pending: pendingNow,
    halted: () => state.phase === "halted",
    idle: () => state.phase === "idle" && inFlight === undefined && queuedCount(coalescer) === 0,
    stop,
  };
}
