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
        targets: ["rsync://u@10.0.0.2/www"],
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
    "  event source: inotifywait, 10 watches",
    "  pending changes: 3",
    "  next full sync: in 1h",
    "  initial sync: running (45%, 1,234 files sent of 2,000 seen, 1.5 MiB)",
    "healthy",
  ]);
});

test("given-up paths, an authentication failure and a halted job are shown as what they are", () => {
  const now = new Date("2026-11-24T12:00:10Z");
  const watcher = (report: WatcherStatusDoc, problem?: string) => ({
    name: "push",
    running: true,
    pid: 42,
    source: "/srv/www",
    target: "rsync://u@10.0.0.2/www",
    targets: ["rsync://u@10.0.0.2/www"],
    healthy: false,
    ...(problem === undefined ? {} : { problem }),
    report,
  });
  const full = { kind: "full" as const, at: "2026-11-24T12:00:00Z", ok: true, outcome: "ok" as const, exitCode: 0, durationMs: 900, paths: 20_000, bytesSent: 1, deleted: 3, reason: "initial sync" };
  const failing = report({
    healthy: false,
    pending: 12,
    lastFullSync: full,
    failing: {
      since: "2026-11-24T11:59:00Z",
      paths: 12,
      sample: ["ro/a.txt", "ro/b.txt"],
      reasons: ["Permission denied (13) on the target"],
      detail: null,
      repairAt: "2026-11-24T12:00:40Z",
      attempts: 1,
    },
  });
  const auth = report({
    healthy: false,
    retryAt: "2026-11-24T12:04:10Z",
    lastRun: { kind: "incremental", at: "2026-11-24T12:00:05Z", ok: false, outcome: "auth", exitCode: 5, durationMs: 20, paths: 1, bytesSent: null },
    lastIncremental: { kind: "incremental", at: "2026-11-24T12:00:05Z", ok: false, outcome: "auth", exitCode: 5, durationMs: 20, paths: 1, bytesSent: null },
  });
  const halted = report({ state: "halted", healthy: false, halted: { at: "2026-11-24T12:00:00Z", reason: "source-unmounted", message: "source looks unmounted or emptied: ..." } });
  const status: NodeStatus = {
    manifest: "/etc/rtsync.yaml",
    node: "web1",
    healthy: false,
    warnings: [],
    daemons: [],
    watchers: [watcher(failing, "12 path(s) could not be written to the target ..."), watcher(auth, "authentication failed: ..."), watcher(halted, "source looks unmounted or emptied: ...")],
  };
  expect(renderStatus(status, now, false)).toEqual([
    "rtsync status: /etc/rtsync.yaml on node web1",
    "watcher push: running, pid 42  /srv/www -> rsync://u@10.0.0.2/www",
    "  event source: inotifywait, 10 watches",
    "  pending changes: 12",
    "  not on the target: 12 path(s) (Permission denied (13) on the target): ro/a.txt, ro/b.txt, ...",
    "  repair: full sync in 30s, 1 tried so far",
    "  last full sync: 10s ago, ok, 20,000 files sent, 3 deleted",
    "  problem: 12 path(s) could not be written to the target ...",
    "watcher push: running, pid 42  /srv/www -> rsync://u@10.0.0.2/www",
    "  event source: inotifywait, 10 watches",
    "  last sync: 5s ago, authentication failed (rsync exit 5), 1 paths",
    "  pending changes: 0",
    "  retry: in 4m",
    "  problem: authentication failed: ...",
    "watcher push: running, pid 42, HALTED (no rsync runs)  /srv/www -> rsync://u@10.0.0.2/www",
    "  event source: inotifywait, 10 watches",
    "  pending changes: 0",
    "  problem: source looks unmounted or emptied: ...",
    "UNHEALTHY",
  ]);
});

test("the agent line names a running agent that has not written its status, never 'not running'", () => {
  const now = new Date("2026-11-24T12:00:10Z");
  const status: NodeStatus = { manifest: "/etc/rtsync.yaml", node: "web1", healthy: true, warnings: [], daemons: [], watchers: [] };
  const health = { sync: "Synced", health: "Healthy", healthy: true, converged: true, problems: [], daemons: [], watchers: [] } as const;
  const agentOf = (agent: NonNullable<Parameters<typeof renderStatus>[3]>["agent"]) => renderStatus(status, now, false, { health, ...(agent ? { agent } : {}) })[2];
  expect(agentOf({ pid: 7, running: true })).toBe("agent: running, pid 7");
  expect(agentOf({ pid: 7, running: false })).toBe("agent: not running (pid 7 is gone)");
  expect(agentOf({ pid: 7, running: false, otherPids: [9] })).toBe(
    "agent: pid 7 recorded in the stateDir is gone; `rtsync agent` runs as pid 9 but has not written its status here yet (it retries; its log says why)",
  );
  expect(agentOf({ running: false, otherPids: [9] })).toBe("agent: `rtsync agent` runs as pid 9 but has not written its status here yet (it retries; its log says why)");
});

test("unwatched directories: pending is a count plus the unknown, and the directories are named (issue 18)", () => {
  const now = new Date("2026-11-24T12:00:10Z");
  const problem = "2 directories are not watched (many/d1, many/d2): the inotify watch limit (fs.inotify.max_user_watches = 30) is reached; raise it in the manifest's sysctl section";
  const status: NodeStatus = {
    manifest: "/etc/rtsync.yaml",
    node: "web1",
    healthy: false,
    warnings: [],
    daemons: [],
    watchers: [
      {
        name: "push",
        running: true,
        pid: 42,
        source: "/srv/www",
        target: "rsync://u@10.0.0.2/www",
        targets: ["rsync://u@10.0.0.2/www"],
        healthy: false,
        problem,
        report: report({
          healthy: false,
          watcher: "inotify",
          pending: 3,
          unwatched: [
            { path: "many/d1", reason: "watch-limit", since: "2026-11-24T12:00:00Z" },
            { path: "many/d2", reason: "watch-limit", since: "2026-11-24T12:00:00Z" },
          ],
          unwatchedCount: 2,
          maxUserWatches: 30,
        }),
      },
    ],
  };
  const lines = renderStatus(status, now, false);
  expect(lines).toContain("  pending changes: 3 + unknown in 2 unwatched directories");
  expect(lines).toContain("  unwatched: 2 directories, synced whole every 10 s: many/d1 (watch-limit, since 10s ago), many/d2 (watch-limit, since 10s ago)");
  expect(lines).toContain(`  problem: ${problem}`);
});

test("a full sync that had to repair paths says how many, beside what it sent and deleted", () => {
  const now = new Date("2026-11-24T12:00:10Z");
  const full = { kind: "full", at: "2026-11-24T12:00:00Z", ok: true, outcome: "ok", exitCode: 0, durationMs: 900, paths: 205, bytesSent: 1000, deleted: 0, repaired: 205 } as const;
  const status: NodeStatus = {
    manifest: "/etc/rtsync.yaml",
    node: "web1",
    healthy: true,
    warnings: [],
    daemons: [],
    watchers: [{ name: "push", running: true, pid: 42, source: "/srv/www", target: "rsync://u@10.0.0.2/www", targets: ["rsync://u@10.0.0.2/www"], healthy: true, report: report({ lastFullSync: full, lastRun: full }) }],
  };
  expect(renderStatus(status, now, false)).toContain("  last full sync: 10s ago, ok, 205 files sent, 0 deleted, 205 repaired (the events never reported them)");
});
