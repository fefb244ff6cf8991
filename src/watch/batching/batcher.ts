import { InternalError } from "../../core/errors.ts";
import type { RunOutcome } from "../../state/watcher-status.ts";
import { backoffDelay } from "../../core/backoff.ts";
import { addChanges, dueAt, EMPTY, isEmpty, mergeBatch, takeBatch, type Pending } from "./pending.ts";
import type { Batch, BatcherConfig, Change } from "./types.ts";


// The batcher decides what goes into which rsync run and when. It is a pure state machine: it
// owns no timers and reads no clock; every input carries `now`, and every step says when the
// engine should wake it next (`wakeAt`) and whether to start a run.
//
//                 changed                       tick >= wakeAt (or full-sync, flush)
//   +------+  --------------->  +------------+  ------------------------------------>  +---------+
//   | idle |                    | collecting |                                         | running |
//   +------+  <---------------  +------------+  <------ run-done ok, changes queued -- +---------+
//       ^      (nothing left)          ^                                                |  |  |
//       |                              |   tick >= retryAt (changes merge meanwhile)    |  |  |
//       |                              +--------------+  +---------+  <-- run-done -----+  |  |
//       |                                             +- | backoff |      transient, auth  |  |
//       |                                                +---------+      partial < max    |  |
//       +-------------- run-done ok, nothing queued; partial >= max, fatal (given up) -----+  |
//                                                                                             |
//   +--------+  <------------ halt (a deletion guard refused the full sync), run-done max-delete +
//   | halted |  changes are still counted, nothing runs (restart the watcher), until `resume`:
//   +--------+  the source root the job recorded is back (guard/identity.ts) -> collecting/idle.
//               `halt` reaches it from every phase: another lane's guard found the watch's source
//               unmounted (a run in flight then is cancelled first, and goes back to the pending set).
//
// Invariants:
// - One run at a time; changes that arrive while it is in flight form the next batch.
// - A full sync subsumes every change seen before it starts; changes during it go out after it.
// - The pending set never holds more than `maxPaths` entries: past that it becomes a full sync.
// - A path under a pending directory tree (`/dir/***`) adds nothing: the tree already covers it.
// - A batch given up is reported once (`gaveUp`); the engine schedules the full sync that repairs it.

export type BatcherState =
  | { readonly phase: "idle" }
  | { readonly phase: "collecting"; readonly pending: Pending }
  | { readonly phase: "running"; readonly batch: Batch; readonly attempt: number; readonly pending: Pending }
  | { readonly phase: "backoff"; readonly retryAt: number; readonly attempt: number; readonly pending: Pending }
  | { readonly phase: "halted"; readonly pending: Pending };

export type BatcherInput =
  | { readonly type: "changed"; readonly changes: readonly Change[]; readonly now: number }
  | { readonly type: "tick"; readonly now: number }
  | { readonly type: "full-sync"; readonly now: number }
  /** Send whatever is pending now, ignoring quiet windows and backoff (shutdown). */
  | { readonly type: "flush"; readonly now: number }
  | { readonly type: "run-done"; readonly outcome: RunOutcome; readonly now: number }
  /**
   * Nothing runs any more: a deletion guard refused the run in flight (or another lane's found
   * the source gone), or maxDelete was hit. A batch in flight goes back to the pending set.
   */
  | { readonly type: "halt"; readonly now: number }
  /** The cause of a halt is gone (the recorded source root is back): what is pending runs again. */
  | { readonly type: "resume"; readonly now: number };

export const DEFAULT_BATCHER_CONFIG = {
  delayMs: 0,
  quietMs: 2,
  maxWaitMs: 50,
  holdOpenMs: 1000,
  maxPaths: 10_000,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  authBackoffInitialMs: 60_000,
  authBackoffMaxMs: 300_000,
  maxPartialAttempts: 3,
} satisfies BatcherConfig;

export interface Step {
  readonly state: BatcherState;
  /** Start this run now. */
  readonly run?: Batch;
  /** This batch failed for good; the engine schedules a full sync to repair it. */
  readonly gaveUp?: { readonly batch: Batch; readonly outcome: RunOutcome };
  /** Call again with a tick at this time (absent: nothing to wait for). */
  readonly wakeAt?: number;
}

export const INITIAL_STATE: BatcherState = { phase: "idle" };

export function backoffMs(attempt: number, config: BatcherConfig): number {
  return backoffDelay(attempt, { initialMs: config.backoffInitialMs, maxMs: config.backoffMaxMs });
}

// A daemon that refused the password refuses it again until someone fixes it: retried slowly.
function authBackoffMs(attempt: number, config: BatcherConfig): number {
  return backoffDelay(attempt, { initialMs: config.authBackoffInitialMs, maxMs: config.authBackoffMaxMs });
}

function settle(pending: Pending, config: BatcherConfig, extra: Omit<Step, "state" | "wakeAt"> = {}): Step {
  if (isEmpty(pending)) return { state: INITIAL_STATE, ...extra };
  return { state: { phase: "collecting", pending }, wakeAt: dueAt(pending, config), ...extra };
}

// After a change or a finished run: start at once when the batch is already due.
function settleOrStart(pending: Pending, now: number, config: BatcherConfig, extra: Omit<Step, "state" | "wakeAt"> = {}): Step {
  if (!isEmpty(pending) && dueAt(pending, config) <= now) return startRun(pending, 0, now, config, false, extra);
  return settle(pending, config, extra);
}

function startRun(pending: Pending, attempt: number, now: number, config: BatcherConfig, force: boolean, extra: Omit<Step, "state" | "wakeAt"> = {}): Step {
  const { batch, rest } = takeBatch(pending, now, config, force);
  if (batch === undefined) return settle(rest, config, extra);
  return { state: { phase: "running", batch, attempt, pending: rest }, run: batch, ...extra };
}

// Advances the batcher by one input. Pure: same state and input, same step.
export function step(state: BatcherState, input: BatcherInput, config: BatcherConfig): Step {
  const now = input.now;
  switch (input.type) {
    case "changed": {
      switch (state.phase) {
        case "idle":
          return settleOrStart(addChanges(EMPTY, input.changes, now, config.maxPaths), now, config);
        case "collecting":
          return settleOrStart(addChanges(state.pending, input.changes, now, config.maxPaths), now, config);
        case "running":
          return { state: { ...state, pending: addChanges(state.pending, input.changes, now, config.maxPaths) } };
        case "backoff":
          return { state: { ...state, pending: addChanges(state.pending, input.changes, now, config.maxPaths) }, wakeAt: state.retryAt };
        case "halted":
          return { state: { ...state, pending: addChanges(state.pending, input.changes, now, config.maxPaths) } };
      }
      break;
    }
    case "tick": {
      switch (state.phase) {
        case "idle":
        case "running":
        case "halted":
          return { state };
        case "collecting": {
          const due = dueAt(state.pending, config);
          if (now < due) return { state, wakeAt: due };
          return startRun(state.pending, 0, now, config, false);
        }
        case "backoff":
          if (now < state.retryAt) return { state, wakeAt: state.retryAt };
          return startRun(state.pending, state.attempt, now, config, true);
      }
      break;
    }
    case "full-sync": {
      const full: Pending = { ...EMPTY, full: true, firstAt: now, lastAt: now };
      switch (state.phase) {
        case "idle":
        case "collecting":
          return startRun(full, 0, now, config, true);
        case "running":
          return { state: { ...state, pending: full } };
        case "backoff":
          return { state: { ...state, pending: full }, wakeAt: state.retryAt };
        case "halted":
          return { state };
      }
      break;
    }
    case "flush": {
      switch (state.phase) {
        case "idle":
        case "running":
        case "halted":
          return { state };
        case "collecting":
          return startRun(state.pending, 0, now, config, true);
        case "backoff":
          return startRun(state.pending, state.attempt, now, config, true);
      }
      break;
    }
    case "run-done": {
      if (state.phase !== "running") throw new InternalError(`batcher: run-done received while ${state.phase}`);
      const { batch, attempt, pending } = state;
      const retry = (waitMs: number): Step => {
        const retryAt = now + waitMs;
        const merged = mergeBatch(pending, batch, now, config.maxPaths);
        return { state: { phase: "backoff", retryAt, attempt: attempt + 1, pending: merged }, wakeAt: retryAt };
      };
      switch (input.outcome) {
        case "ok":
          return settleOrStart(pending, now, config);
        case "transient":
          return retry(backoffMs(attempt, config));
        case "auth":
          return retry(authBackoffMs(attempt, config));
        case "partial":
          // A full sync is not retried at once: the repair schedule spaces them out.
          if (batch.kind === "incremental" && attempt + 1 < config.maxPartialAttempts) return retry(backoffMs(attempt, config));
          return settleOrStart(pending, now, config, { gaveUp: { batch, outcome: "partial" } });
        case "fatal":
          return settleOrStart(pending, now, config, { gaveUp: { batch, outcome: "fatal" } });
        case "max-delete":
          // rsync deleted maxDelete files and skipped the rest; another full sync would delete as
          // many again, so nothing runs any more.
          return { state: { phase: "halted", pending } };
        case "cancelled":
          return settle(mergeBatch(pending, batch, now, config.maxPaths), config);
      }
      break;
    }
    case "halt": {
      switch (state.phase) {
        case "idle":
          return { state: { phase: "halted", pending: EMPTY } };
        case "collecting":
        case "backoff":
        case "halted":
          return { state: { phase: "halted", pending: state.pending } };
        case "running":
          return { state: { phase: "halted", pending: mergeBatch(state.pending, state.batch, now, config.maxPaths) } };
      }
      break;
    }
    case "resume":
      return state.phase === "halted" ? settle(state.pending, config) : { state };
  }
  throw new InternalError(`batcher: unhandled ${input.type} in ${state.phase}`);
}

function countOf(p: Pending): number {
  return p.full ? 1 : p.entries.size;
}

/** Changes not on the target yet: waiting, in the run in flight, or waiting for a retry (a full sync counts as one). */
export function pendingCount(state: BatcherState): number {
  switch (state.phase) {
    case "idle":
      return 0;
    case "running":
      return countOf(state.pending) + (state.batch.kind === "full" ? 1 : state.batch.entries.size);
    case "collecting":
    case "backoff":
    case "halted":
      return countOf(state.pending);
  }
}

/** Whether a full sync is waiting to start. */
export function fullSyncPending(state: BatcherState): boolean {
  return state.phase !== "idle" && state.phase !== "halted" && state.pending.full;
}
