import { expect, test } from "vitest";
import { sayOnce, stepSilence } from "./hang-watch.ts";

test("a daemon's silence starts at its first failed probe, lasts through the next ones and ends when it greets", () => {
  expect(stepSilence(undefined, false, 1000)).toBe(1000);
  expect(stepSilence(1000, false, 11_000)).toBe(1000);
  expect(stepSilence(1000, true, 21_000)).toBeUndefined();
  expect(stepSilence(undefined, true, 21_000)).toBeUndefined();
});

test("a problem is said once per key until it changes or goes away", () => {
  const said: string[] = [];
  const say = sayOnce((m) => said.push(m));
  say("host", "status.json is not valid JSON");
  say("host", "status.json is not valid JSON");
  say("inventory", "status.json is not valid JSON");
  say("host", "cannot read status.json: EACCES");
  say("host", undefined);
  say("host", "cannot read status.json: EACCES");
  expect(said).toEqual(["status.json is not valid JSON", "status.json is not valid JSON", "cannot read status.json: EACCES", "cannot read status.json: EACCES"]);
});
