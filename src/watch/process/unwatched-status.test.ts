import { expect, test } from "vitest";
import { buildInitialStatus, buildLogRecord, stepStatus } from "./status.ts";

// The unwatched directories in the watcher's status and log (issue 18).

const T0 = Date.UTC(2025, 0, 1);
const K = "rsync://10.0.0.2:873/backup";
const start = buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: false, targets: [{ key: K, url: K }] });
const watching = stepStatus(start, { type: "source-ready", at: T0, watcher: "inotify", watches: 10 });
const dirs = Array.from({ length: 30 }, (_, i) => ({ path: `many/d${String(29 - i).padStart(2, "0")}`, reason: "watch-limit" as const, since: T0 + 1000 + (i % 3) }));

test("unwatched directories make a watching watcher unhealthy, listed oldest first (capped at 20) with their count and limit", () => {
  expect(watching.healthy).toBe(true);
  const s = stepStatus(watching, { type: "unwatched", at: T0 + 2000, dirs, maxUserWatches: 40 });
  expect(s).toMatchObject({ state: "watching", healthy: false, unwatchedCount: 30, maxUserWatches: 40 });
  expect(s.unwatched).toHaveLength(20);
  expect(s.unwatched?.[0]).toEqual({ path: "many/d02", reason: "watch-limit", since: "2025-01-01T00:00:01.000Z" });
  // a run that succeeds meanwhile does not make it healthy
  const ran = stepStatus(s, { type: "run-done", target: K, at: T0 + 3000, run: { kind: "incremental", reason: "changes", paths: 1, exitCode: 0, outcome: "ok", durationMs: 5, messages: [] }, pending: 0 });
  expect(ran.healthy).toBe(false);
  // every directory watched again: healthy
  const back = stepStatus(ran, { type: "unwatched", at: T0 + 4000, dirs: [] });
  expect(back).toMatchObject({ healthy: true, unwatchedCount: 0, unwatched: [], maxUserWatches: null });
});

test("the log says so as a warning, and again when all are watched", () => {
  expect(buildLogRecord({ type: "unwatched", at: T0, dirs: dirs.slice(0, 2), maxUserWatches: 40 })).toEqual({
    at: "2025-01-01T00:00:00.000Z",
    type: "unwatched",
    count: 2,
    sample: ["many/d29", "many/d28"],
    message: expect.stringMatching(/^2 directories are not watched \(many\/d29, many\/d28\): the inotify watch limit \(fs\.inotify\.max_user_watches = 40\)/),
  });
  expect(buildLogRecord({ type: "unwatched", at: T0, dirs: [] })).toMatchObject({ count: 0, message: "every directory under the source is watched again" });
});
