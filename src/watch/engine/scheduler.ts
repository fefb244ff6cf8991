import { parseCron } from "../../core/cron.ts";

// The full-sync schedule: cron (5 fields, or 6 with seconds first) -> the next time a full sync
// is due. Pure: the current time comes in as an argument. The engine turns the time into a
// `full-sync` input for the batcher; it never runs rsync itself.

export type ScheduleResult =
  | { readonly ok: true; readonly schedule: Schedule }
  | { readonly ok: false; readonly message: string };

export interface Schedule {
  readonly expression: string;
  /** The first fire time strictly after `afterMs` (epoch ms). */
  nextAfter(afterMs: number): number;
}

export function parseSchedule(expression: string): ScheduleResult {
  const fields = expression.trim().split(/\s+/).length;
  if (!expression.trim().startsWith("@") && (fields < 5 || fields > 6)) {
    return { ok: false, message: `fullSync.schedule ${JSON.stringify(expression)} must have 5 fields, or 6 with seconds first` };
  }
  try {
    parseCron(expression, 0);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `fullSync.schedule ${JSON.stringify(expression)} is not a valid cron expression: ${why}` };
  }
  return {
    ok: true,
    schedule: {
      expression,
      nextAfter: (afterMs) => parseCron(expression, afterMs).next().getTime(),
    },
  };
}
