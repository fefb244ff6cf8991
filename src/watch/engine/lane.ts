import type { Backoff } from "../../core/backoff.ts";
import { messageOf } from "../../core/errors.ts";
import type { Schedule } from "../../core/cron.ts";
import type { HaltReason, Progress } from "../../state/watcher-status.ts";
import { fullSyncPending, INITIAL_STATE, pendingCount, step, type BatcherInput, type BatcherState, type Step } from "../batching/batcher.ts";
import { DEFAULT_OVERLAP_AFTER_MS } from "../batching/overlap.ts";
import type { Batch, BatcherConfig, Change } from "../batching/types.ts";
import { displayPath } from "../byte-path.ts";
import { maxDeleteHaltMessage } from "../guard/decide.ts";
import type { BatchResult } from "../rsync/batch.ts";
import { failedToConnect, firstErrorLine, parseFailureReasons, parseSkippedDeletions } from "../rsync/result.ts";
import { EMPTY_COALESCER, queuedCount, stepCoalescer, type CoalescerInput, type CoalescerState } from "./coalescer.ts";
import type { LaneEvent, RunKind, RunSummary } from "./events.ts";
import { startBesideRuns } from "./overlap-run.ts";
import { NO_REPAIR, stepRepair, type RepairState } from "./repair-policy.ts";
import { startAdaptiveTimer, startScheduleTimer, type ScheduleTimer } from "./schedule-timer.ts";
import type { ItemizedChange } from "../rsync/itemized.ts";
import { startRepairCount } from "./repair-count.ts";
import { startKnownPaths } from "./known-paths.ts";
import { startEarlySends } from "./early-sends.ts";
import { startReachProbe } from "./reach-probe.ts";

// One lane: everything a watch does for one of its targets. The engine (engine.ts) owns the event
// source and hands every change to each lane; a lane owns its own pending set and batcher state,
// its coalescer, its run in flight, its retries and backoff, its repair schedule, its full-sync
// schedule and its halt. Nothing here waits for another lane, so a target that is down, slow or
// full only makes its own lane accumulate (bounded: past `maxPaths` the pending set becomes one
// full sync) and catch up alone when it is back. With one target the engine runs one lane, the
// path of every change is what it was before lanes existed.
//
//   changes --> coalescer --deliver--> batcher --run--> runner (rsync; a full sync passes the
//      ^         (5 ms idle, 100 ms        |  ^           deletion guard first)
//      |          while this lane is busy) |  +---- run-done (outcome) <------------+
//   the watch's                            +--> timers: batch tick, retry, repair, schedule
//   change stream                               halt: no rsync any more (restart the watcher)
//
// An incremental run in flight for long (a big file, a --bwlimit) lets one run beside it carry
// the pending paths it cannot meet (overlap-run.ts); the batcher's next run waits for both. While
// a full sync runs, changes are also sent early beside it (early-sends.ts); while the lane backs
// off from a target it could not reach, the target is probed (reach-probe.ts). Both own their state.
//
// Every input reaches the batcher through one function (stepBatcher), which calls neither itself
// nor the coalescer; a run's end comes back as a value to runEnded. The decisions are the pure
// parts' (batching/batcher.ts, engine/coalescer.ts, engine/repair-policy.ts, batching/overlap.ts,
// stepEarlySends, stepReachProbe); this file carries them out: timers, the runner, events.

/** What a run tells its lane while it goes. */
export interface LaneHooks {
  readonly start: () => void;
  readonly progress: (progress: Progress) => void;
  /** A full sync changed this path on the target (rsync/itemized.ts); absent: not counted (the initial sync's rsync itemizes nothing). */
  readonly changed?: (change: ItemizedChange) => void;
  /** The run stalled (epoch ms of its last byte), or moves data again (undefined). */
  readonly stall?: (lastMovedAt: number | undefined) => void;
}

/** How a lane's batch runs: rsync for real (the engine's, runner.ts), or whatever a test gives. */
export type LaneRunner = (batch: Batch, signal: AbortSignal, hooks: LaneHooks) => Promise<BatchResult | { readonly halted: { readonly reason: HaltReason; readonly message: string } }>;

export interface LaneOptions {
  /** The lane's key (TargetSpec.key): the `target` of its events. */
  readonly key: string;
  readonly config: BatcherConfig;
  readonly repair: Backoff;
  /** The target's maxDelete, for the message when a full sync hits it. */
  readonly maxDelete?: number;
  /** A cron schedule of full syncs; absent with `adaptive`: the default schedule (adaptive-schedule.ts); neither: none. */
  readonly schedule?: Schedule;
  readonly adaptive?: boolean;
  readonly run: LaneRunner;
  readonly emit: (event: LaneEvent) => void;
  /**
   * Whether the target accepts a connection now (a daemon's TCP port). After a run that could not
   * connect, the lane asks every `probeEveryMs` while it backs off, and retries as soon as the
   * answer is yes, so a target that comes back is caught up within a second, not at the next
   * retry of a backoff grown to 30 s. Absent: the backoff alone decides.
   */
  readonly probe?: () => Promise<boolean>;
  readonly probeEveryMs?: number;
  /** A run in flight longer than this lets a run beside it carry other paths (overlap-run.ts); Infinity: never. */
  readonly overlapAfterMs?: number;
  /** Paths the watch holds before they reach the lane (files written, not closed, not settled yet): counted as pending. */
  readonly held?: () => number;
}

export interface Lane {
  readonly key: string;
  /** Changes from the watch's change stream; `now` is performance.now(). */
  add(changes: readonly Change[], now: number): void;
  /** A full sync for `reason`; it subsumes what is pending. */
  requestFull(reason: string): void;
  /** Stops running rsync (a run in flight is cancelled) until resume; changes are still counted. */
  halt(reason: HaltReason, message: string): void;
  /** Why it halted, while it is halted. */
  haltedFor(): HaltReason | undefined;
  /** Ends a halt (its cause is gone): a full sync for `why` catches up, then runs go on as before. */
  resume(why: string): void;
  /** Changes not on the target yet: waiting, in flight, waiting for a retry or for a repair. */
  pending(): number;
  /** `held` changed: tells status if the pending count did. */
  notePending(): void;
  halted(): boolean;
  /** Nothing pending and no run in flight. */
  idle(): boolean;
  /** No new runs, no timers (the first half of stop; the engine calls it on every lane at once). */
  beginStop(): void;
  /** Lets the run in flight end (cancelled after `ms`), flushes what is pending once, and says what is left. */
  finishStop(ms: number): Promise<number>;
}

interface InFlight {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/** A finished run as the log and status see it. Pure. */
function summaryOf(kind: RunKind, reason: string, paths: number, result: BatchResult, repaired?: number): RunSummary {
  return {
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
    ...(repaired === undefined ? {} : { repaired }),
  };
}

const SAMPLE = 20;

/** The reason of the full sync a watcher starts with (engine.ts). */
export const INITIAL_SYNC = "initial sync";

function sampleOf(batch: Batch): string[] {
  if (batch.kind === "full") return [];
  return [...batch.entries.keys()].slice(0, SAMPLE).map(displayPath);
}

export function startLane(o: LaneOptions): Lane {
  const { key: target, config, emit } = o;
  let state: BatcherState = INITIAL_STATE;
  let coalescer: CoalescerState = EMPTY_COALESCER;
  let repair: RepairState = NO_REPAIR;
  let inFlight: InFlight | undefined;
  let stopping = false;
  let allowLaunch = false;
  let halted: { readonly reason: HaltReason; readonly message: string } | undefined;
  let fullReason = "too many changes";
  let batchTimer: NodeJS.Timeout | undefined;
  let coalesceTimer: NodeJS.Timeout | undefined;
  let repairTimer: NodeJS.Timeout | undefined;
  let scheduleTimer: ScheduleTimer | undefined;
  let lastPending = 0;
  // What the event path has pending: a full sync's changes outside it are counted as repaired.
  const known = startKnownPaths();

  // A runner that throws is a fatal run, not a lane that stops.
  const runSafely = (batch: Batch, signal: AbortSignal, hooks: LaneHooks): ReturnType<LaneRunner> =>
    o.run(batch, signal, hooks).catch((error: unknown): BatchResult => ({ outcome: "fatal", exitCode: -1, durationMs: 0, messages: [messageOf(error)] }));

  // Runs beside a long run in flight (overlap-run.ts): paths disjoint from it go out meanwhile.
  const beside = startBesideRuns({
    config,
    afterMs: o.overlapAfterMs ?? DEFAULT_OVERLAP_AFTER_MS,
    read: () => ({ pending: state.phase === "running" ? state.pending : undefined, blocked: early.inFlight() !== undefined || stopping || halted !== undefined }),
    take: (rest) => {
      if (state.phase === "running") state = { ...state, pending: rest };
    },
    giveBack: (changes) => dispatch({ type: "changed", changes, now: performance.now() }),
    run: (batch, signal) => runSafely(batch, signal, { start: () => undefined, progress: () => undefined }),
    done: (batch, result) => {
      emit({ type: "early-run-done", at: Date.now(), target, run: summaryOf("incremental", "beside a run in flight", batch.entries.size, result) });
      notePending();
    },
  });

  // Changes sent at once beside a full sync in flight (early-sends.ts).
  const early = startEarlySends({
    run: (batch, signal) => runSafely(batch, signal, { start: () => undefined, progress: () => undefined }),
    done: (batch, result) => {
      if (batch.kind === "incremental") emit({ type: "early-run-done", at: Date.now(), target, run: summaryOf("incremental", "early, during a full sync", batch.entries.size, result) });
    },
    blocked: () => stopping || halted !== undefined,
  });
  // A target that could not be reached is asked again while the lane backs off (reach-probe.ts).
  const reach =
    o.probe === undefined
      ? undefined
      : startReachProbe({
          probe: o.probe,
          everyMs: o.probeEveryMs ?? 500,
          waiting: () => state.phase === "backoff" && !stopping && halted === undefined,
          retry: () => dispatch({ type: "flush", now: performance.now() }),
        });

  const pendingNow = (): number => pendingCount(state) + queuedCount(coalescer) + repair.paths + beside.paths() + (o.held?.() ?? 0);

  // Tells status when the number of changes not on the target changed.
  const notePending = (): void => {
    const pending = pendingNow();
    if (pending === lastPending) return;
    lastPending = pending;
    emit({ type: "pending", at: Date.now(), target, pending });
  };

  const armBatchTimer = (wakeAt: number | undefined): void => {
    clearTimeout(batchTimer);
    batchTimer = undefined;
    if (wakeAt === undefined || stopping) return;
    batchTimer = setTimeout(() => dispatch({ type: "tick", now: performance.now() }), Math.max(0, wakeAt - performance.now()));
  };

  // Steps the batcher with one input and carries out what it says: the run to start (or, while
  // stopping, its cancellation, stepped at once), the next wake-up, the pending count. It calls
  // neither itself nor the coalescer; it returns the first step (a run-done's give-up is in it).
  const stepBatcher = (first: BatcherInput): Step => {
    let input = first;
    let firstStep: Step | undefined;
    for (;;) {
      const before = state.phase;
      const result = step(state, input, config);
      firstStep ??= result;
      const next = result.state;
      state = next;
      if (next.phase === "backoff" && before === "running" && input.type === "run-done") {
        emit({ type: "retry-scheduled", at: Date.now(), target, retryAt: Date.now() + (next.retryAt - performance.now()), attempt: next.attempt, outcome: input.outcome });
      }
      if (result.run !== undefined && stopping && !allowLaunch) {
        input = { type: "run-done", outcome: "cancelled", now: performance.now() };
        continue;
      }
      if (result.run !== undefined) launch(result.run);
      armBatchTimer(result.wakeAt);
      notePending();
      return firstStep;
    }
  };

  // One input to the coalescer (and its timer); what it delivers goes to the batcher.
  const coalesce = (input: CoalescerInput): void => {
    const result = stepCoalescer(coalescer, input);
    coalescer = result.state;
    if (result.deliver !== undefined) {
      stepBatcher({ type: "changed", changes: result.deliver, now: performance.now() });
      emit({ type: "changes", at: Date.now(), target, count: result.deliver.length, pending: pendingNow() });
      beside.consider();
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

  // One input to the batcher. A retry (the backoff's tick, or a flush) carries everything that
  // waited behind it, not only what had reached the batcher: the coalescer holds changes while the
  // lane backs off, so they are delivered first.
  const dispatch = (input: BatcherInput): Step => {
    if (state.phase === "backoff" && (input.type === "tick" || input.type === "flush")) coalesce({ type: "flush", now: input.now });
    return stepBatcher(input);
  };

  const armRepairTimer = (): void => {
    clearTimeout(repairTimer);
    repairTimer = undefined;
    const dueAt = repair.dueAt;
    if (dueAt === undefined || stopping || halted !== undefined) return;
    repairTimer = setTimeout(() => {
      repair = stepRepair(repair, { type: "fired", now: performance.now() }, o.repair);
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
      target,
      kind: batch.kind,
      paths,
      sample: sampleOf(batch),
      outcome,
      reasons: parseFailureReasons(messages),
      ...(detail === undefined ? {} : { detail }),
    });
    const wasDue = repair.dueAt;
    repair = stepRepair(repair, { type: "gave-up", paths, now: performance.now() }, o.repair);
    if (repair.dueAt !== undefined && repair.dueAt !== wasDue) {
      emit({ type: "repair-scheduled", at: Date.now(), target, repairAt: Date.now() + (repair.dueAt - performance.now()), attempt: repair.attempt });
    }
    armRepairTimer();
  };

  const halt = (reason: HaltReason, message: string): void => {
    if (halted !== undefined) return;
    halted = { reason, message };
    clearTimeout(repairTimer);
    clearTimeout(batchTimer);
    scheduleTimer?.stop();
    emit({ type: "halted", at: Date.now(), target, reason, message });
    early.halt();
    beside.abort();
    reach?.stop();
    // A run in flight is cancelled; its end takes the batcher to halted (runEnded, below).
    if (inFlight !== undefined) inFlight.controller.abort();
    else dispatch({ type: "halt", now: performance.now() });
  };

  // Starts the run the batcher asked for; its end comes back as a value to runEnded.
  const launch = (batch: Batch): void => {
    const controller = new AbortController();
    if (batch.kind === "full") early.fullStarted();
    const kind: RunKind = batch.kind;
    const listed = batch.kind === "full" ? 0 : batch.entries.size;
    const reason = batch.kind === "full" ? fullReason : "changes";
    const mark = known.mark();
    // The initial sync (a new or restarted watcher) fills a replica the events never covered: not a repair.
    const repairs = kind === "full" && reason !== INITIAL_SYNC ? startRepairCount(known) : undefined;
    const hooks: LaneHooks = {
      start: (): void => emit({ type: "run-start", at: Date.now(), target, kind, paths: listed, reason }),
      progress: (progress: Progress): void => emit({ type: "run-progress", at: Date.now(), target, progress }),
      ...(repairs === undefined ? {} : { changed: (change: ItemizedChange): void => repairs.add(change.path) }),
      stall: (lastMovedAt: number | undefined): void => emit({ type: "run-stalled", at: Date.now(), target, lastMovedAt: lastMovedAt ?? null }),
    };
    beside.started(batch, performance.now());
    // The next normal run waits for the run beside too (never two runs over the same path).
    const done = runSafely(batch, controller.signal, hooks).then(async (result) => {
      await beside.ended();
      inFlight = undefined;
      runEnded({ batch, reason, listed, mark, repairs }, result);
    });
    inFlight = { controller, done };
  };

  // A run ended: report it, and step the batcher, the repair schedule and the probe with its outcome.
  const runEnded = (
    run: { readonly batch: Batch; readonly reason: string; readonly listed: number; readonly mark: number; readonly repairs: ReturnType<typeof startRepairCount> | undefined },
    result: Awaited<ReturnType<LaneRunner>>,
  ): void => {
    const { batch, reason, listed, mark, repairs } = run;
    const kind: RunKind = batch.kind;
    if (kind === "full") early.fullEnded();
    coalesce({ type: "flush", now: performance.now() }); // what arrived during the run joins the next batch
    if ("halted" in result) {
      // The deletion guard refused the run: it never started.
      if (halted === undefined) halt(result.halted.reason, result.halted.message);
      else dispatch({ type: "halt", now: performance.now() });
      return;
    }
    const paths = kind === "full" ? (result.transferred ?? 0) : listed;
    const repaired = repairs?.result(); // after the flush above: changes seen during the run are the events'
    emit({ type: "run-done", at: Date.now(), target, run: summaryOf(kind, reason, paths, result, repaired?.count), pending: pendingNow() });
    if (repaired !== undefined && repaired.count > 0) emit({ type: "repaired", at: Date.now(), target, reason, count: repaired.count, sample: repaired.sample });
    if (result.outcome === "ok") {
      if (batch.kind === "full") known.synced(mark);
      else known.sent(batch.entries.keys(), mark);
    }
    if (halted !== undefined) {
      // Halted while it ran (another lane's guard found the source gone): it was cancelled.
      dispatch({ type: "halt", now: performance.now() });
      return;
    }
    if (kind === "full" && result.outcome !== "cancelled") scheduleTimer?.fullSyncDone(result.cpuSeconds);
    if (kind === "full" && result.outcome === "ok") {
      repair = stepRepair(repair, { type: "full-ok", now: performance.now() }, o.repair);
      armRepairTimer();
    }
    // A full sync retried after a transient failure keeps its reason (an initial sync stays one).
    if (kind === "full" && fullReason === reason && result.outcome !== "transient" && result.outcome !== "auth") fullReason = "too many changes";
    const stepped = dispatch({ type: "run-done", outcome: result.outcome, now: performance.now() });
    if (stepped.gaveUp !== undefined) gaveUp(stepped.gaveUp, result.messages);
    reach?.runDone({ unreachable: failedToConnect(result.exitCode, result.messages), ok: result.outcome === "ok", backoff: stepped.state.phase === "backoff" });
    if (result.outcome === "max-delete") {
      halt("max-delete", maxDeleteHaltMessage(o.maxDelete, result.deleted, parseSkippedDeletions(result.messages)));
    }
    notePending();
  };

  const requestFull = (reason: string): void => {
    coalesce({ type: "flush", now: performance.now() }); // a full sync subsumes the changes seen before it
    fullReason = reason;
    dispatch({ type: "full-sync", now: performance.now() });
  };

  // Lets the run in flight end, cancelling it after `ms`.
  const settleInFlight = async (ms: number): Promise<void> => {
    const runs = [inFlight, early.inFlight()].filter((r): r is InFlight => r !== undefined);
    if (runs.length === 0) return;
    const timer = setTimeout(() => {
      for (const r of runs) r.controller.abort();
      beside.abort();
    }, ms);
    await Promise.all(runs.map((r) => r.done));
    clearTimeout(timer);
  };

  const scheduleHandlers = {
    onArmed: (nextAt: number) => emit({ type: "full-sync-scheduled", at: Date.now(), target, nextAt }),
    onFire: () => requestFull("schedule"),
  };
  const armSchedule = (): void => {
    if (o.schedule !== undefined) scheduleTimer = startScheduleTimer(o.schedule, scheduleHandlers);
    else if (o.adaptive === true) scheduleTimer = startAdaptiveTimer(scheduleHandlers);
  };
  armSchedule();

  const resume = (why: string): void => {
    if (halted === undefined || stopping) return;
    halted = undefined;
    emit({ type: "resumed", at: Date.now(), target, message: why });
    dispatch({ type: "resume", now: performance.now() });
    armSchedule();
    requestFull(why);
  };

  return {
    key: target,
    add: (changes, now) => {
      known.add(changes);
      const busy = state.phase === "running" || state.phase === "backoff";
      coalesce({ type: "add", changes, busy, now });
      early.add(changes);
    },
    requestFull,
    halt,
    haltedFor: () => halted?.reason,
    resume,
    pending: pendingNow,
    notePending,
    halted: () => state.phase === "halted",
    idle: () => state.phase === "idle" && inFlight === undefined && early.inFlight() === undefined && !beside.inFlight() && queuedCount(coalescer) === 0,
    beginStop: () => {
      stopping = true;
      beside.stop();
      reach?.stop();
      clearTimeout(batchTimer);
      clearTimeout(repairTimer);
      scheduleTimer?.stop();
    },
    finishStop: async (ms) => {
      await settleInFlight(ms);
      coalesce({ type: "flush", now: performance.now() });
      // A pending full sync is not worth a hurried attempt: the next start runs one anyway.
      if (pendingCount(state) > 0 && !fullSyncPending(state)) {
        allowLaunch = true;
        dispatch({ type: "flush", now: performance.now() });
        allowLaunch = false;
        await settleInFlight(ms);
      }
      clearTimeout(batchTimer);
      clearTimeout(coalesceTimer);
      return pendingNow();
    },
  };
}
