import { backoffDelay, type Backoff } from "../../core/backoff.ts";

// When to restart an event source that failed. Pure: the engine counts failures since the source
// was last ready and asks how long to wait; a source that comes back resets the count.
//
//   ready --fail--> wait backoff(0) --restart--> (ready: count=0) | (fail: wait backoff(1)) ...

export const DEFAULT_SOURCE_RESTART: Backoff = { initialMs: 1000, maxMs: 30_000 };

export interface RestartState {
  /** Failures since the source was last ready. */
  readonly failures: number;
}

export const FRESH_SOURCE: RestartState = { failures: 0 };

/** After a failure: the new state and how long to wait before subscribing again. */
export function planSourceRestart(state: RestartState, policy: Backoff): { readonly state: RestartState; readonly delayMs: number } {
  return { state: { failures: state.failures + 1 }, delayMs: backoffDelay(state.failures, policy) };
}
