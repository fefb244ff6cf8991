import { CronExpressionParser } from "cron-parser";
import { Settings } from "luxon";

// The one door to cron-parser, for the manifest's checks and the watcher's full-sync schedule alike
// (they disagreed once: validate refused `@hourly` while the watcher took it).
//
// cron-parser builds luxon DateTimes, and luxon asks Intl for the system locale when it makes the
// first one, which loads ICU: measured 26 ms of every `rtsync validate` and ~7 MB of the watcher's
// resident memory. The locale only matters when luxon formats a date, which rtsync never asks it
// to; times and zones are unaffected.
Settings.defaultLocale = "en-US";

export interface Schedule {
  readonly expression: string;
  /** The first fire time strictly after `afterMs` (epoch ms). */
  nextAfter(afterMs: number): number;
}

export type ScheduleResult = { readonly ok: true; readonly schedule: Schedule } | { readonly ok: false; readonly message: string };

const ALIASES = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);

/**
 * A cron schedule: 5 fields (minute hour day month weekday), 6 with seconds first, or one of
 * cron's aliases (@hourly, @daily, …). The message of a bad one completes "schedule X …".
 */
export function parseSchedule(expression: string): ScheduleResult {
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/).length;
  if (trimmed.startsWith("@") ? !ALIASES.has(trimmed.toLowerCase()) : fields !== 5 && fields !== 6) {
    return {
      ok: false,
      message: trimmed.startsWith("@")
        ? `is not a cron alias; use one of ${[...ALIASES].join(", ")}, or 5 fields (minute hour day month weekday)`
        : `has ${fields} field${fields === 1 ? "" : "s"}; a cron schedule has 5 (minute hour day month weekday) or 6 (seconds first)`,
    };
  }
  try {
    CronExpressionParser.parse(trimmed, { currentDate: 0 });
  } catch (error) {
    return { ok: false, message: `is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}` };
  }
  return {
    ok: true,
    schedule: { expression: trimmed, nextAfter: (afterMs) => CronExpressionParser.parse(trimmed, { currentDate: afterMs }).next().getTime() },
  };
}

/** Why a cron expression is invalid, or undefined (for the manifest's checks). */
export function cronProblem(expression: string): string | undefined {
  const r = parseSchedule(expression);
  return r.ok ? undefined : r.message;
}
