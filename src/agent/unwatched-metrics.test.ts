import { expect, test } from "vitest";
import type { NodeHealth } from "../resources/health.ts";
import { buildInitialStatus, stepStatus } from "../watch/process/status.ts";
import { createAgentMetrics, type MetricsSnapshot } from "./metrics.ts";

// Issue 18: the unwatched directories of each watch as a gauge.

const T0 = Date.UTC(2025, 0, 1);
const BUILD = { version: "0.0.0", revision: "unknown", nodeVersion: process.version };
const K = "rsync://10.0.0.2:873/backup";
const watching = stepStatus(buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: false, targets: [{ key: K, url: K }] }), {
  type: "source-ready",
  at: T0,
  watcher: "inotify",
  watches: 10,
});
const dirs = Array.from({ length: 30 }, (_, i) => ({ path: `d${i}`, reason: "watch-limit" as const, since: T0 }));
const health: NodeHealth = { sync: "Synced", health: "Degraded", healthy: false, converged: false, problems: [], daemons: [], watchers: [] };

const snapshot = (report: MetricsSnapshot["watches"][number]["report"]): MetricsSnapshot => ({
  node: "n1",
  now: T0,
  health,
  watches: [{ name: "push", targets: [K], up: true, report, tally: new Map(), restarts: 0, crashLooping: false }],
  daemons: [],
  revision: undefined,
  refused: false,
  drifted: 0,
  outOfSync: 0,
});

test("rtsync_watch_unwatched_dirs counts every unwatched directory (not only the listed 20), and 0 when all are watched", async () => {
  const degraded = stepStatus(watching, { type: "unwatched", at: T0 + 1, dirs, maxUserWatches: 40 });
  expect(await createAgentMetrics(() => Promise.resolve(snapshot(degraded)), BUILD).render()).toContain('rtsync_watch_unwatched_dirs{watch="push"} 30');
  expect(await createAgentMetrics(() => Promise.resolve(snapshot(watching)), BUILD).render()).toContain('rtsync_watch_unwatched_dirs{watch="push"} 0');
});
