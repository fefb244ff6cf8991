import { expect, test } from "vitest";
import { assessWatcherLiveness, notRespondingMessage } from "./watcher-liveness.ts";
import type { WatcherStatusDoc } from "./watcher-status.ts";

const T = Date.parse("2026-12-06T10:00:00.000Z");
const doc = (heartbeatAt: string | null | undefined) => ({ heartbeatAt }) as unknown as WatcherStatusDoc;

test("a heartbeat at most 5 s old is responding; older is not; from 30 s on it is to be replaced", () => {
  expect(assessWatcherLiveness(doc("2026-12-06T09:59:55.000Z"), T)).toEqual({ responding: true });
  expect(assessWatcherLiveness(doc("2026-12-06T09:59:54.000Z"), T)).toEqual({ responding: false, since: "2026-12-06T09:59:54.000Z", silentMs: 6000, replace: false });
  expect(assessWatcherLiveness(doc("2026-12-06T09:59:30.000Z"), T)).toEqual({ responding: false, since: "2026-12-06T09:59:30.000Z", silentMs: 30_000, replace: true });
});

test("no document, or one without a heartbeat (an older watcher), says nothing: responding", () => {
  expect(assessWatcherLiveness(undefined, T)).toEqual({ responding: true });
  expect(assessWatcherLiveness(doc(undefined), T)).toEqual({ responding: true });
  expect(assessWatcherLiveness(doc(null), T)).toEqual({ responding: true });
});

test("the operator's sentence", () => {
  const l = assessWatcherLiveness(doc("2026-12-06T09:59:53.000Z"), T);
  if (l.responding) throw new Error("responding");
  expect(notRespondingMessage(l)).toBe(
    "not responding since 2026-12-06T09:59:53.000Z: no heartbeat for 7 s (the process is stopped or stuck); the agent replaces it after 30 s without one",
  );
});
