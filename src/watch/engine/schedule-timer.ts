import type { Schedule } from "../../core/cron.ts";

// Fires a cron schedule: a timer for the next fire time, armed again after each. Timers longer
// than 2^31 ms overflow, so a far fire time is reached in steps of at most a day.

const MAX_TIMER_MS = 86_400_000;

export interface ScheduleTimer {
  stop(): void;
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
  };
}
