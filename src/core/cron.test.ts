import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { cronProblem, parseSchedule } from "./cron.ts";

function schedule(expr: string) {
  const r = parseSchedule(expr);
  if (!r.ok) throw new Error(r.message);
  return r.schedule;
}

describe("cron", () => {
  it("sets the default locale on the luxon copy that cron-parser uses", () => {
    // cron-parser require()s luxon; a setting on another copy would leave Intl to be loaded.
    const cronParserRequire = createRequire(createRequire(import.meta.url).resolve("cron-parser"));
    const luxon = cronParserRequire("luxon") as typeof import("luxon");
    expect(luxon.Settings.defaultLocale).toBe("en-US");
  });

  it("gives the next fire time after a given instant, for 5 and 6 fields", () => {
    const at = Date.UTC(2025, 0, 1, 12, 0, 1);
    expect(schedule("*/5 * * * * *").nextAfter(at) - at).toBe(4000);
    expect(new Date(schedule("*/10 * * * *").nextAfter(at)).getUTCMinutes()).toBe(10);
    const start = Date.UTC(2026, 0, 1, 10, 7, 30);
    expect(schedule("*/5 * * * *").nextAfter(start) - start).toBe(150_000);
  });

  it("takes cron's aliases, the same for validate and the watcher", () => {
    const at = Date.UTC(2025, 0, 1, 12, 30, 0);
    expect(schedule("@hourly").nextAfter(at) - at).toBe(30 * 60_000);
    expect(cronProblem("@hourly")).toBeUndefined();
    expect(cronProblem("@often")).toMatch(/^is not a cron alias; use one of @yearly/);
  });

  it("says why an expression is invalid", () => {
    expect(cronProblem("* * *")).toBe("has 3 fields; a cron schedule has 5 (minute hour day month weekday) or 6 (seconds first)");
    expect(cronProblem("61 * * * *")).toMatch(/^is not a valid cron expression: /);
    expect(cronProblem("0 3 * * 1-5")).toBeUndefined();
  });
});
