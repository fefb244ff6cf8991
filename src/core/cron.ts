import { CronExpressionParser, type CronExpression } from "cron-parser";
import { Settings } from "luxon";

// The one door to cron-parser. cron-parser builds luxon DateTimes, and luxon asks Intl for the
// system locale when it makes the first one, which loads ICU: measured 26 ms of every
// `rtsync validate` and ~7 MB of the watcher's resident memory. The locale only matters when
// luxon formats a date, which rtsync never asks it to; times and zones are unaffected.
Settings.defaultLocale = "en-US";

/** Parses a cron expression (throws on a bad one); `currentDate` (epoch ms) is where next() starts. */
export function parseCron(expression: string, currentDate?: number): CronExpression {
  return CronExpressionParser.parse(expression, currentDate === undefined ? {} : { currentDate });
}

/** Cron: 5 fields, or 6 with seconds first. Returns why it is invalid, or undefined. */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return `has ${fields} fields; a cron schedule has 5 (minute hour day month weekday) or 6 (seconds first)`;
  try {
    parseCron(expr);
    return undefined;
  } catch (e) {
    return `is not a valid cron expression: ${(e as Error).message}`;
  }
}
