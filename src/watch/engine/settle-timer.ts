import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { NOTHING_SETTLING, noteSettleEvents, settleWakeAt, takeSettled, type SettleState } from "../batching/settle.ts";
import type { Change } from "../batching/types.ts";
import type { SourceEvent } from "../sources/source.ts";

// The one timer of a watch's files written but not closed (batching/settle.ts decides): events
// arm and disarm paths, the timer hands the paths that settled to `onSettled` (the engine gives
// them to every lane, as if their writer had closed them).

export interface SettleTimer {
  /** Arms or disarms the paths of a chunk of events (every event, in the source's order). */
  note(events: readonly SourceEvent[]): void;
  /** Paths written and not sent yet (each lane counts them as pending). */
  count(): number;
  /** Hands every armed path to `onSettled` now and stops the timer (the watch stops: they go out in the final flush). */
  flushAndStop(): void;
}

export function startSettleTimer(o: {
  readonly settleMs: number;
  readonly excluded: ExcludeMatcher;
  readonly onSettled: (changes: readonly Change[], now: number) => void;
  /** The number of armed paths changed. */
  readonly onCount: () => void;
}): SettleTimer {
  let state: SettleState = NOTHING_SETTLING;
  let timer: NodeJS.Timeout | undefined;
  let timerAt: number | undefined;
  let stopped = false;

  const arm = (): void => {
    const at = stopped ? undefined : settleWakeAt(state);
    if (at === timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = at === undefined ? undefined : setTimeout(fire, Math.max(0, at - performance.now()));
  };

  const take = (force: boolean): void => {
    const now = performance.now();
    const taken = takeSettled(state, now, force);
    state = taken.state;
    if (taken.changes.length > 0) {
      o.onSettled(taken.changes, now);
      o.onCount();
    }
  };

  function fire(): void {
    timerAt = undefined;
    take(false);
    arm();
  }

  return {
    note: (events) => {
      if (stopped) return;
      const before = state;
      state = noteSettleEvents(state, events, performance.now(), o.settleMs, o.excluded);
      if (state === before) return;
      arm();
      o.onCount();
    },
    count: () => state.due.size,
    flushAndStop: () => {
      if (stopped) return;
      take(true);
      stopped = true;
      arm();
    },
  };
}
