import { describe, expect, test } from "vitest";
import type { WatcherStatusDoc } from "../state/watcher-status.ts";
import { assessHealth, type HealthInputs } from "./health.ts";
import type { NodeStatus } from "./node-status.ts";

function report(over: Partial<WatcherStatusDoc> = {}): WatcherStatusDoc {
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

const status = (over: Partial<NodeStatus> = {}): NodeStatus => ({
  warnings: [],
  manifest: "/etc/rtsync.yaml",
  node: "web1",
  healthy: true,
  daemons: [{ name: "d1", running: true, pid: 7, address: "127.0.0.1", port: 873, healthy: true }],
  watchers: [{ name: "push", running: true, pid: 42, source: "/srv", target: "rsync://h/m", targets: ["rsync://h/m"], healthy: true, report: report() }],
  ...over,
});

const inputs = (over: Partial<HealthInputs> = {}): HealthInputs => ({
  status: status(),
  drift: { known: true, outOfSync: [], unknown: [] },
  nodeMatch: { matched: true, known: ["web1"] },
  ...over,
});

describe("the health vocabulary", () => {
  test("everything running and nothing to change: Synced and Healthy, converged", () => {
    expect(assessHealth(inputs())).toMatchObject({ sync: "Synced", health: "Healthy", healthy: true, converged: true, problems: [] });
  });

  test("a dead watcher is Missing and OutOfSync; a hand-edited file is OutOfSync but Healthy", () => {
    const dead = status({ watchers: [{ name: "push", running: false, pid: 42, source: "/srv", target: "t", targets: ["t"], healthy: false, problem: "not running (run `rtsync apply`)" }] });
    const h = assessHealth(inputs({ status: dead }));
    expect(h).toMatchObject({ sync: "OutOfSync", health: "Missing", healthy: false, converged: false });
    expect(h.watchers[0]).toEqual({ id: "watcher:push", sync: "OutOfSync", health: "Missing", problem: "not running (run `rtsync apply`)" });
    const edited = assessHealth(inputs({ drift: { known: true, outOfSync: ["file:/etc/rsyncd.conf"], unknown: [] } }));
    expect(edited).toMatchObject({ sync: "OutOfSync", health: "Healthy", healthy: true, converged: false, problems: [{ resource: "file:/etc/rsyncd.conf", message: "differs from the manifest" }] });
  });

  test("a daemon whose pid runs but that does not greet is Degraded, with the probe's sentence", () => {
    const problem = "not responding: accepts connections on port 873 but has not greeted within 2 s (no @RSYNCD: line; the process is stopped or stuck)";
    const h = assessHealth(inputs({ status: status({ daemons: [{ name: "d1", running: true, pid: 7, address: "127.0.0.1", port: 873, healthy: false, problem, responding: false }] }) }));
    expect(h).toMatchObject({ sync: "Synced", health: "Degraded", healthy: false, converged: false, problems: [{ resource: "daemon:d1", message: problem }] });
  });

  test("an initial sync in progress is Progressing: healthy, not yet converged", () => {
    const h = assessHealth(inputs({ status: status({ watchers: [{ ...status().watchers[0]!, report: report({ initialSync: { state: "running", progress: null } }) }] }) }));
    expect(h).toMatchObject({ health: "Progressing", healthy: true, converged: false });
  });

  test("crash-looping, a refused revision and an unmatched node are Degraded, each named", () => {
    const h = assessHealth(
      inputs({
        agent: { crashLooping: [{ id: "watcher:push", deaths: 3, nextRestartAt: "2026-11-24T12:00:04Z" }], refused: { revision: "abc", issues: ["/m.yaml:3:5: bad"] } },
        nodeMatch: { matched: false, known: ["master", "slave"] },
      }),
    );
    expect(h).toMatchObject({ sync: "OutOfSync", health: "Degraded", healthy: false });
    expect(h.problems.map((p) => p.message)).toEqual([
      'node "web1" matches none of the manifest\'s nodes: lists (it knows "master", "slave"), so nothing runs here (pass --node with one of them, or add "web1" to a nodes: list)',
      "manifest revision abc was refused (the agent keeps running the last one it applied): /m.yaml:3:5: bad",
      "crash-looping: failed 3 times in a row soon after starting; started again at 2026-11-24T12:00:04Z",
    ]);
  });

  test("a secrets file that needs a password this process cannot read is Unknown, not OutOfSync", () => {
    expect(assessHealth(inputs({ drift: { known: true, outOfSync: [], unknown: ["file:/etc/rsync.password"] } })).sync).toBe("Unknown");
    expect(assessHealth(inputs({ drift: { known: false, reason: "rsync is not installed" } }))).toMatchObject({ sync: "Unknown", converged: false });
  });
});
