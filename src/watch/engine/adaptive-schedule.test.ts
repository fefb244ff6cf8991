import { describe, expect, test } from "vitest";
import { ADAPTIVE_MAX_MS, ADAPTIVE_MIN_MS, planAdaptiveInterval } from "./adaptive-schedule.ts";

describe("planAdaptiveInterval", () => {
  test("CPU time over a 2 % share, between 5 and 15 minutes", () => {
    expect(planAdaptiveInterval(0.1)).toBe(ADAPTIVE_MIN_MS); // a small tree: every 5 minutes
    expect(planAdaptiveInterval(8)).toBe(400_000); // 8 s of CPU every 400 s is 2 %
    expect(planAdaptiveInterval(60)).toBe(ADAPTIVE_MAX_MS); // never longer than 15 minutes
  });

  test("not measured: the longest interval", () => {
    expect(planAdaptiveInterval(undefined)).toBe(ADAPTIVE_MAX_MS);
    expect(planAdaptiveInterval(Number.NaN)).toBe(ADAPTIVE_MAX_MS);
  });
});
