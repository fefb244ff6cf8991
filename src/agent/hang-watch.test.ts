import { expect, test } from "vitest";
import { stepSilence } from "./hang-watch.ts";

test("a daemon's silence starts at its first failed probe, lasts through the next ones and ends when it greets", () => {
  expect(stepSilence(undefined, false, 1000)).toBe(1000);
  expect(stepSilence(1000, false, 11_000)).toBe(1000);
  expect(stepSilence(1000, true, 21_000)).toBeUndefined();
  expect(stepSilence(undefined, true, 21_000)).toBeUndefined();
});
