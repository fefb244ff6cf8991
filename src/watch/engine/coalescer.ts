import type { Change } from "../batching/types.ts";

// How changes from the event source reach the batcher. Pure: the engine owns the timer and calls
// `stepCoalescer` with the time; the step says what to deliver now and when to wake it next.
//
// Each batcher step may copy the pending set (the batcher is pure), so one step per read of the
// event source made a storm quadratic: 50,000 new files cost the watcher 10-15 s of CPU, most of
// it copying maps of thousands of pending paths. So changes are delivered in bunches:
// - the first change after a quiet spell goes at once (latency is what matters then),
// - then at most every `idleMs` (5 ms) while the batcher is idle or collecting,
// - at most every `busyMs` (100 ms) while a run is in flight or backing off (they can only go out
//   after it), and all of them just before that run's end is handed to the batcher ("flush").
//
//   queued=[] --add--> deliver now (if the last delivery is older than the window)
//             \------> queued=[...], wakeAt=lastDelivery+window --timer--> deliver all

export interface CoalescerConfig {
  readonly idleMs: number;
  readonly busyMs: number;
}

export const DEFAULT_COALESCER_CONFIG: CoalescerConfig = { idleMs: 5, busyMs: 100 };

export interface CoalescerState {
  /** Chunks waiting, in arrival order (chunks, not changes: appending must not copy them all). */
  readonly chunks: readonly (readonly Change[])[];
  readonly lastDeliveryAt: number;
  /** The engine has a timer set for `wakeAt`. */
  readonly wakeAt: number | undefined;
}

export const EMPTY_COALESCER: CoalescerState = { chunks: [], lastDeliveryAt: -Infinity, wakeAt: undefined };

export type CoalescerInput =
  /** Changes from the source; `busy`: a run is in flight or backing off. */
  | { readonly type: "add"; readonly changes: readonly Change[]; readonly busy: boolean; readonly now: number }
  /** The timer the last step asked for fired. */
  | { readonly type: "timer"; readonly now: number }
  /** Deliver whatever waits now (before a run's end or a full sync reaches the batcher). */
  | { readonly type: "flush"; readonly now: number };

export interface CoalescerStep {
  readonly state: CoalescerState;
  /** Hand these to the batcher now (absent: nothing to deliver). */
  readonly deliver?: readonly Change[];
}

function deliverAll(state: CoalescerState, now: number): CoalescerStep {
  if (state.chunks.length === 0) return { state: { ...state, wakeAt: undefined } };
  return { state: { chunks: [], lastDeliveryAt: now, wakeAt: undefined }, deliver: state.chunks.flat() };
}

export function stepCoalescer(state: CoalescerState, input: CoalescerInput, config: CoalescerConfig = DEFAULT_COALESCER_CONFIG): CoalescerStep {
  switch (input.type) {
    case "add": {
      if (input.changes.length === 0) return { state };
      const queued = { ...state, chunks: [...state.chunks, input.changes] };
      if (state.wakeAt !== undefined) return { state: queued };
      const due = state.lastDeliveryAt + (input.busy ? config.busyMs : config.idleMs);
      if (due <= input.now) return deliverAll(queued, input.now);
      return { state: { ...queued, wakeAt: due } };
    }
    case "timer":
    case "flush":
      return deliverAll(state, input.now);
  }
}

/** Changes waiting in the coalescer. */
export function queuedCount(state: CoalescerState): number {
  return state.chunks.reduce((n, c) => n + c.length, 0);
}
