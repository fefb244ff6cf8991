import { expect, test } from "vitest";
import { assessWatcherHealth, type LaneHealthInput, type WatcherHealthInput } from "./watcher-health.ts";

const lane = (over: Partial<LaneHealthInput> = {}): LaneHealthInput => ({
  target: "rsync://h:873/a",
  url: "rsync://h/a",
  lastRun: null,
  lastError: null,
  halted: null,
  failing: null,
  initialSync: { state: "done" },
  ...over,
});
const doc = (over: Partial<WatcherHealthInput> = {}): WatcherHealthInput => ({ state: "watching", lastError: null, targets: [lane()], ...over });

test("watching, every lane healthy, every directory watched: Healthy", () => {
  expect(assessWatcherHealth(doc())).toEqual({ healthy: true, health: "Healthy", targets: [{ target: "rsync://h:873/a", healthy: true }] });
});

test("no document yet, starting, or an initial sync under way: Progressing", () => {
  expect(assessWatcherHealth(undefined)).toMatchObject({ healthy: false, health: "Progressing" });
  expect(assessWatcherHealth(doc({ state: "starting" }))).toMatchObject({ healthy: false, health: "Progressing" });
  expect(assessWatcherHealth(doc({ targets: [lane({ initialSync: { state: "running" } })] }))).toMatchObject({ healthy: true, health: "Progressing" });
});

test("a lane that failed, halted, gave up, is stalled or owes a requested full sync is not healthy", () => {
  const sick = [{ lastRun: { ok: false } }, { halted: {} }, { failing: {} }, { stalledSince: "2025-01-01T00:00:00Z" }, { requested: {} }];
  for (const over of sick) expect(assessWatcherHealth(doc({ targets: [lane(over)] })).targets).toEqual([{ target: "rsync://h:873/a", healthy: false }]);
});

test("several targets: the problem names each lane that is not healthy", () => {
  const b = lane({ target: "rsync://g:873/b", url: "rsync://g/b", lastRun: { ok: false }, lastError: { message: "refused" } });
  expect(assessWatcherHealth(doc({ targets: [lane(), b], lastError: { message: "target rsync://g/b: refused" } }))).toEqual({
    healthy: false,
    health: "Degraded",
    problem: "target rsync://g/b: refused",
    targets: [
      { target: "rsync://h:873/a", healthy: true },
      { target: "rsync://g:873/b", healthy: false },
    ],
  });
});

test("not watching: the watch's last error, else its state", () => {
  expect(assessWatcherHealth(doc({ state: "source-down", lastError: { message: "cannot watch /x" } }))).toMatchObject({ health: "Degraded", problem: "cannot watch /x" });
  expect(assessWatcherHealth(doc({ state: "stopping" }))).toMatchObject({ health: "Degraded", problem: "state stopping" });
});

test("unwatched directories alone: Degraded, naming them", () => {
  const h = assessWatcherHealth(doc({ unwatchedCount: 1, unwatched: [{ path: "d", reason: "permission", since: "2025-01-01T00:00:00Z" }] }));
  expect(h).toMatchObject({ healthy: false, health: "Degraded" });
  expect(h.problem).toMatch(/^1 directory is not watched \(d\)/);
});

test("a document without lanes (before issue 14): its top level is its one lane", () => {
  expect(assessWatcherHealth(doc({ targets: undefined, lastRun: { ok: true }, initialSync: { state: "done" } }))).toMatchObject({ healthy: true, health: "Healthy", targets: [] });
  expect(assessWatcherHealth(doc({ targets: undefined, lastRun: { ok: false }, lastError: { message: "failed" } }))).toMatchObject({ healthy: false, health: "Degraded", problem: "failed" });
});
