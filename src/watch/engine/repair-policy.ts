import { backoffDelay, type Backoff } from "../../core/backoff.ts";

// When to repair what the batcher gave up (a partial transfer after its retries, or a failed full
// sync): with a full sync, soon, and again with backoff until one succeeds. Pure: the engine owns
// the timer, feeds the events in and requests the full sync when `dueAt` comes.
//
//   clear --gave-up--> scheduled(dueAt = now + backoff(attempt), attempt+1) --fired--> waiting
//     ^                    ^  gave-up: keeps dueAt                                       |
//     |                    +--------- gave-up (the repair full sync failed too) ---------+
//     +------------------------------ full-ok (any full sync) ---------------------------+
//
// 30 s, 1 min, 2, 4, 8, then every 10 min: a receiver fixed a minute later gets everything within
// a minute or two, and a lasting fault (a read-only directory, a full disk) costs one full sync
// every ten minutes, not one per second.

export const DEFAULT_REPAIR: Backoff = { initialMs: 30_000, maxMs: 600_000 };

export interface RepairState {
  /** Repair full syncs scheduled so far since the last successful full sync. */
  readonly attempt: number;
  /** When the next repair full sync is due (undefined: none scheduled). */
  readonly dueAt: number | undefined;
  /** Paths given up and not repaired yet (a given-up full sync adds none). */
  readonly paths: number;
}

export const NO_REPAIR: RepairState = { attempt: 0, dueAt: undefined, paths: 0 };

export type RepairInput =
  /** A batch failed for good: `paths` listed (0 for a full sync). */
  | { readonly type: "gave-up"; readonly paths: number; readonly now: number }
  /** The engine requested the repair full sync. */
  | { readonly type: "fired"; readonly now: number }
  /** A full sync (for whatever reason) succeeded: the target has everything. */
  | { readonly type: "full-ok"; readonly now: number };

export function stepRepair(state: RepairState, input: RepairInput, policy: Backoff = DEFAULT_REPAIR): RepairState {
  switch (input.type) {
    case "gave-up": {
      const paths = state.paths + input.paths;
      if (state.dueAt !== undefined) return { ...state, paths };
      return { attempt: state.attempt + 1, dueAt: input.now + backoffDelay(state.attempt, policy), paths };
    }
    case "fired":
      return { ...state, dueAt: undefined };
    case "full-ok":
      return NO_REPAIR;
  }
}

/** Whether some given-up work waits for a full sync. */
export function repairNeeded(state: RepairState): boolean {
  return state.attempt > 0;
}
