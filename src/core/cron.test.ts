import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { cronProblem, parseCron } from "./cron.ts";

describe("cron", () => {
  it("sets the default locale on the luxon copy that cron-parser uses", () => {
    // cron-parser require()s luxon; a setting on another copy would leave Intl to be loaded.
    const cronParserRequire = createRequire(createRequire(import.meta.url).resolve("cron-parser"));
    const luxon = cronParserRequire("luxon") as typeof import("luxon");
    expect(luxon.Settings.defaultLocale).toBe("en-US");
  });

  it("computes the next time from the given start", () => {
    const start = Date.UTC(2026, 0, 1, 10, 7, 30);
    expect(parseCron("*/5 * * * *", start).next().getTime() - start).toBe(150_000);
  });

  it("says why an expression is invalid", () => {
    expect(cronProblem("* * *")).toMatch(/has 3 fields/);
    expect(cronProblem("61 * * * *")).toMatch(/not a valid cron expression/);
    expect(cronProblem("0 3 * * 1-5")).toBeUndefined();
  });
});
