import { expect, test } from "vitest";
import { FRESH_PROBE, stepReachProbe } from "./reach-probe.ts";

const refused = { type: "run-done", unreachable: true, ok: false, backoff: true } as const;

test("a run that could not connect, backing off: probe", () => {
  expect(stepReachProbe(FRESH_PROBE, refused)).toEqual({ state: FRESH_PROBE, probe: true });
});

test("not backing off, or another failure: no probe", () => {
  expect(stepReachProbe(FRESH_PROBE, { ...refused, backoff: false })).toEqual({ state: FRESH_PROBE });
  expect(stepReachProbe(FRESH_PROBE, { ...refused, unreachable: false })).toEqual({ state: FRESH_PROBE });
});

test("a probe said yes and the retry still could not connect: misled, the backoff alone decides until a run succeeds", () => {
  const retried = stepReachProbe(FRESH_PROBE, { type: "retrying" }).state;
  const misled = stepReachProbe(retried, refused);
  expect(misled).toEqual({ state: { retried: false, misled: true } });
  expect(stepReachProbe(misled.state, refused)).toEqual({ state: { retried: false, misled: true } });
  const ok = stepReachProbe(misled.state, { type: "run-done", unreachable: false, ok: true, backoff: false });
  expect(ok).toEqual({ state: FRESH_PROBE });
  expect(stepReachProbe(ok.state, refused).probe).toBe(true);
});
