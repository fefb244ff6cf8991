import { expect, test } from "vitest";
import { NO_REPAIR, repairNeeded, stepRepair, type RepairInput, type RepairState } from "./repair-policy.ts";

function fold(inputs: readonly RepairInput[], from: RepairState = NO_REPAIR): RepairState[] {
  const out: RepairState[] = [];
  let state = from;
  for (const input of inputs) {
    state = stepRepair(state, input);
    out.push(state);
  }
  return out;
}

test("given-up paths get a full sync 30 s later, then 1, 2, 4, 8 min, then every 10 min until one succeeds", () => {
  let state = stepRepair(NO_REPAIR, { type: "gave-up", paths: 10, now: 0 });
  const waits: number[] = [];
  let now = 0;
  for (let i = 0; i < 8; i++) {
    waits.push((state.dueAt ?? NaN) - now);
    now = state.dueAt ?? now;
    state = stepRepair(state, { type: "fired", now });
    now += 5_000; // the full sync runs, and fails again (given up)
    state = stepRepair(state, { type: "gave-up", paths: 0, now });
  }
  expect(waits.map((ms) => ms / 1000)).toEqual([30, 60, 120, 240, 480, 600, 600, 600]);
  expect(state.paths).toBe(10);
  expect(stepRepair(state, { type: "full-ok", now })).toEqual(NO_REPAIR);
});

test("more given-up batches while a repair is scheduled join it without pushing it back", () => {
  const [first, second] = fold([
    { type: "gave-up", paths: 3, now: 1000 },
    { type: "gave-up", paths: 2, now: 20_000 },
  ]);
  expect(first).toEqual({ attempt: 1, dueAt: 31_000, paths: 3 });
  expect(second).toEqual({ attempt: 1, dueAt: 31_000, paths: 5 });
  expect(repairNeeded(second!)).toBe(true);
});

test("any successful full sync (the schedule's too) ends the repair", () => {
  const states = fold([
    { type: "gave-up", paths: 1, now: 0 },
    { type: "full-ok", now: 10 },
  ]);
  expect(states.at(-1)).toEqual(NO_REPAIR);
  expect(repairNeeded(NO_REPAIR)).toBe(false);
});
