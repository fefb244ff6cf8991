import type { Schedule } from "../../core/cron.ts";
import { planAdaptiveInterval } from "./adaptive-schedule.ts";

// Fires a cron schedule: a timer for the next fire time, armed again after each. Timers longer
// than 2^31 ms overflow, so a far fire time is reached in steps of at most a day.

const MAX_TIMER_MS = 86_400_000;

export interface ScheduleTimer {
  stop(): void;
  /** A full sync (for any reason) ended, having cost `cpuSeconds`: the adaptive schedule counts from here. */
  fullSyncDone(cpuSeconds: number | undefined): void;
}

/**
 * The default schedule (adaptive-schedule.ts): the next full sync an interval after the last one
 * ended, the interval from that one's CPU time; the longest interval until one was measured.
 */
export function startAdaptiveTimer(handlers: { readonly onArmed: (nextAt: number) => void; readonly onFire: () => void }): ScheduleTimer {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (cpuSeconds: number | undefined): void => {
    clearTimeout(timer);
    if (stopped) return;
    const ms = planAdaptiveInterval(cpuSeconds);
    handlers.onArmed(Date.now() + ms);
    timer = setTimeout(handlers.onFire, ms);
  };
  arm(undefined);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    fullSyncDone: arm,
  };
}

export function startScheduleTimer(
  schedule: Schedule,
  handlers: { readonly onArmed: (nextAt: number) => void; readonly onFire: () => void },
  now: () => number = Date.now,
): ScheduleTimer {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    const nextAt = schedule.nextAfter(now());
    handlers.onArmed(nextAt);
    const wait = (): void => {
      if (stopped) return;
      const left = nextAt - now();
      if (left > 0) {
        timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
        return;
      }
      handlers.onFire();
      arm();
    };
    wait();
  };
  arm();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
    fullSyncDone: () => undefined, // a cron schedule fires at its times, whatever ran meanwhile
  };
}
