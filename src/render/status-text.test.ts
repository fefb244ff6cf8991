import { expect, test } from "vitest";
import type { NodeStatus } from "../resources/node-status.ts";
import type { WatcherStatusDoc } from "../state/watcher-status.ts";
import { renderStatus } from "./status-text.ts";

function report(over: Partial<WatcherStatusDoc>): WatcherStatusDoc {
  return {
    version: 1,
    name: "push",
    pid: 42,
    specHash: "abc",
    startedAt: "2026-11-24T11:00:00Z",
    updatedAt: "2026-11-24T12:00:00Z",
    state: "watching",
    healthy: true,
    watcher: "inotifywait",
    watches: 10,
    pending: 0,
    retryAt: null,
    lastRun: null,
    lastIncremental: null,
    lastFullSync: null,
    nextFullSync: null,
    initialSync: { state: "done", progress: null },
    counters: { runs: 0, incrementalRuns: 0, fullSyncs: 0, failedRuns: 0, gaveUp: 0, sourceRestarts: 0, pathsSent: 0, bytesSent: 0 },
    lastError: null,
    ...over,
  };
}

test("a watcher in its initial sync shows rsync's progress figures", () => {
  const now = new Date("2026-11-24T12:00:10Z");
  const status: NodeStatus = {
    manifest: "/etc/rtsync.yaml",
    node: "web1",
    healthy: true,
    warnings: [],
    daemons: [],
    watchers: [
      {
        name: "push",
        running: true,
        pid: 42,
        source: "/srv/www",
        target: "rsync://u@10.0.0.2/www",
        healthy: true,
        report: report({
          pending: 3,
          nextFullSync: "2026-11-24T13:00:00Z",
          initialSync: { state: "running", progress: { bytes: 1_572_864, percent: 45, files: 1234, total: 2000 } },
        }),
      },
    ],
  };
  expect(renderStatus(status, now, false)).toEqual([
    "rtsync status: /etc/rtsync.yaml on node web1",
    "watcher push: running, pid 42  /srv/www -> rsync://u@10.0.0.2/www",
    "  pending changes: 3",
    "  next full sync: in 1h",
    "  initial sync: running (45%, 1,234 files sent of 2,000 seen, 1.5 MiB)",
    "healthy",
  ]);
});
