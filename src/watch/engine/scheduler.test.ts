import { expect, test } from "vitest";
import { parseSchedule } from "./scheduler.ts";

test("5-field and 6-field cron give the next fire time after a given instant", () => {
  const at = Date.UTC(2025, 0, 1, 12, 0, 1);
  const six = parseSchedule("*/5 * * * * *");
  const five = parseSchedule("*/10 * * * *");
  if (!six.ok || !five.ok) throw new Error("valid schedules rejected");
  expect(six.schedule.nextAfter(at) - at).toBe(4000);
  expect(new Date(five.schedule.nextAfter(at)).getUTCMinutes()).toBe(10);
});

test("a bad schedule is one sentence naming the field", () => {
  expect(parseSchedule("* * *")).toEqual({ ok: false, message: 'fullSync.schedule "* * *" must have 5 fields, or 6 with seconds first' });
  const bad = parseSchedule("61 * * * *");
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.message).toMatch(/^fullSync.schedule "61 \* \* \* \*" is not a valid cron expression: /);
});
