import { expect, test } from "vitest";
import { FRESH_SOURCE, planSourceRestart } from "./restart-policy.ts";

test("a source that keeps failing waits 1 s, 2 s, 4 s … up to the cap; the count starts over once it is ready", () => {
  const policy = { initialMs: 1000, maxMs: 5000 };
  const waits: number[] = [];
  let state = FRESH_SOURCE;
  for (let i = 0; i < 5; i++) {
    const next = planSourceRestart(state, policy);
    waits.push(next.delayMs);
    state = next.state;
  }
  expect(waits).toEqual([1000, 2000, 4000, 5000, 5000]);
  expect(planSourceRestart(FRESH_SOURCE, policy).delayMs).toBe(1000);
});
