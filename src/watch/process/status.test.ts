import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import type { EngineEvent } from "../engine/events.ts";
import { readWatcherStatus, writeWatcherStatus, type WatcherStatusDoc } from "../../state/watcher-status.ts";
import { buildInitialStatus, buildLogRecord, stepStatus, type StatusInput } from "./status.ts";

const T0 = Date.UTC(2025, 0, 1);
const K = "rsync://10.0.0.2:873/backup";
const start = buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: true, targets: [{ key: K, url: "rsync://u@10.0.0.2/backup" }] });

function fold(events: StatusInput[]): WatcherStatusDoc {
  return events.reduce(stepStatus, start);
}

const fullOk: EngineEvent = {
  type: "run-done", target: K,
  at: T0 + 3000,
  run: { kind: "full", reason: "initial sync", paths: 0, exitCode: 0, outcome: "ok", durationMs: 2500, bytesSent: 1000, messages: [] },
  pending: 2,
};

describe("stepStatus", () => {
  test("start-up: watching, initial sync with progress, then done", () => {
    const s = fold([
      { type: "source-ready", at: T0 + 100, watcher: "inotifywait", watches: 12 },
      { type: "full-sync-scheduled", target: K, at: T0 + 100, nextAt: T0 + 600_000 },
      { type: "run-start", target: K, at: T0 + 200, kind: "full", paths: 0, reason: "initial sync" },
      { type: "run-progress", target: K, at: T0 + 1000, progress: { bytes: 500, percent: 50, files: 3 } },
    ]);
    expect(s).toMatchObject({
      state: "watching",
      healthy: true,
      watcher: "inotifywait",
      watches: 12,
      nextFullSync: "2025-01-01T00:10:00.000Z",
      initialSync: { state: "running", progress: { bytes: 500, percent: 50, files: 3 } },
    });
    // rsync's updates while a file is in flight carry no file counts; the last ones stay.
    const midFile = stepStatus(s, { type: "run-progress", target: K, at: T0 + 1100, progress: { bytes: 700, percent: 70 } });
    expect(midFile.initialSync).toEqual({ state: "running", progress: { bytes: 700, percent: 70, files: 3 } });
    const done = stepStatus(s, fullOk);
    expect(done).toMatchObject({
      pending: 2,
      initialSync: { state: "done" },
      lastFullSync: { kind: "full", ok: true, exitCode: 0, durationMs: 2500, at: "2025-01-01T00:00:03.000Z", bytesSent: 1000 },
      lastIncremental: null,
      counters: { runs: 1, fullSyncs: 1, bytesSent: 1000, failedRuns: 0 },
      lastError: null,
    });
  });

  test("a failed run is unhealthy and explains itself; a retry time is shown until the next run", () => {
    const s = fold([
      { type: "source-ready", at: T0, watcher: "inotifywait", watches: 1 },
      {
        type: "run-done", target: K,
        at: T0 + 10,
        run: { kind: "incremental", reason: "changes", paths: 3, exitCode: 10, outcome: "transient", durationMs: 5, messages: ["rsync: [sender] failed to connect to 10.0.0.2 (10.0.0.2): Connection refused (111)", "rsync error: error in socket IO (code 10)"] },
        pending: 5,
      },
      { type: "retry-scheduled", target: K, at: T0 + 10, retryAt: T0 + 1010, attempt: 1, outcome: "transient" },
    ]);
    expect(s).toMatchObject({
      healthy: false,
      pending: 5,
      retryAt: "2025-01-01T00:00:01.010Z",
      lastIncremental: { ok: false, exitCode: 10, outcome: "transient", paths: 3 },
      counters: { failedRuns: 1, pathsSent: 0 },
      lastError: {
        message: "incremental run of 3 path(s) failed (rsync exit code 10, transient): rsync: [sender] failed to connect to 10.0.0.2 (10.0.0.2): Connection refused (111)",
      },
    });
  });

  test("a failing source is shown as source-down with its message", () => {
    const s = fold([{ type: "source-error", at: T0, reason: "watch-limit", message: "cannot watch /x: ...", retryInMs: 1000 }]);
    expect(s).toMatchObject({ state: "source-down", healthy: false, counters: { sourceRestarts: 1 }, lastError: { message: "cannot watch /x: ..." } });
  });
});

test("an overflow is counted, logged, and its full sync carries the reason", () => {
  const s = fold([
    { type: "source-ready", at: T0, watcher: "inotify", watches: 3, why: "auto: rtsync's inotify addon is built" },
    { type: "overflow", at: T0 + 10, watcher: "inotify" },
    { type: "overflow", at: T0 + 20, watcher: "inotify" },
  ]);
  expect(s).toMatchObject({ watcher: "inotify", watcherReason: "auto: rtsync's inotify addon is built", healthy: true, counters: { overflows: 2 } });
  expect(buildLogRecord({ type: "overflow", at: T0, watcher: "inotify" })).toEqual({
    at: "2025-01-01T00:00:00.000Z",
    type: "overflow",
    watcher: "inotify",
    message: "the kernel's inotify queue overflowed: events were dropped; a full sync follows",
  });
  expect(buildLogRecord({ type: "source-ready", at: T0, watcher: "inotifywait", watches: 1, why: "auto: x" })).toMatchObject({ type: "watching", why: "auto: x" });
});

test("log records: one per run, and none for the chatty events", () => {
  expect(buildLogRecord(fullOk)).toEqual({ at: "2025-01-01T00:00:03.000Z", type: "run", target: K, kind: "full", reason: "initial sync", paths: 0, bytes: 1000, durationMs: 2500, exitCode: 0, outcome: "ok" });
  expect(buildLogRecord({ type: "changes", target: K, at: T0, count: 1, pending: 1 })).toBeUndefined();
});

test("log records: a batch's rename steps are listed, with the messages of one that failed", () => {
  const record = buildLogRecord({
    type: "run-done", target: K,
    at: T0,
    pending: 0,
    run: {
      kind: "incremental",
      reason: "changes",
      paths: 3,
      exitCode: 0,
      outcome: "ok",
      durationMs: 40,
      bytesSent: 900,
      messages: [],
      renameSteps: [
        { from: "a", to: "b", outcome: "ok", exitCode: 0, bytesSent: 300, messages: [] },
        { from: "c", to: "d", outcome: "partial", exitCode: 23, messages: ["rsync: link_stat failed"] },
      ],
    },
  });
  expect(record?.type === "run" ? record.renames : undefined).toEqual([
    { from: "a", to: "b", outcome: "ok", exitCode: 0, bytes: 300 },
    { from: "c", to: "d", outcome: "partial", exitCode: 23, bytes: null, messages: ["rsync: link_stat failed"] },
  ]);
});

describe("status tells the truth", () => {
  const watching: EngineEvent = { type: "source-ready", at: T0, watcher: "inotifywait", watches: 1 };
  const partial: EngineEvent = {
    type: "run-done", target: K,
    at: T0 + 10,
    run: { kind: "incremental", reason: "changes", paths: 2, exitCode: 23, outcome: "partial", durationMs: 5, messages: [] },
    pending: 2,
  };
  const gaveUp: EngineEvent = {
    type: "gave-up", target: K,
    at: T0 + 20,
    kind: "incremental",
    paths: 2,
    sample: ["ro/a.txt", "ro/b.txt"],
    outcome: "partial",
    reasons: ["Permission denied (13) on the target"],
    detail: 'rsync: [receiver] mkstemp "/t/ro/.a.txt.Gx9" (in m) failed: Permission denied (13)',
  };

  test("given-up paths are named with rsync's reason and the repair's time, and count as pending until a full sync succeeds", () => {
    const s = fold([
      watching,
      partial,
      gaveUp,
      { type: "repair-scheduled", target: K, at: T0 + 20, repairAt: T0 + 30_020, attempt: 1 },
      { type: "pending", target: K, at: T0 + 20, pending: 2 },
    ]);
    expect(s).toMatchObject({
      healthy: false,
      pending: 2,
      failing: {
        since: "2025-01-01T00:00:00.020Z",
        paths: 2,
        sample: ["ro/a.txt", "ro/b.txt"],
        reasons: ["Permission denied (13) on the target"],
        repairAt: "2025-01-01T00:00:30.020Z",
        attempts: 0,
      },
      counters: { gaveUp: 1 },
    });
    expect(s.lastError?.message).toBe(
      "2 path(s) could not be written to the target (Permission denied (13) on the target): ro/a.txt, ro/b.txt; " +
        'a full sync retries them with backoff until one succeeds (rsync: [receiver] mkstemp "/t/ro/.a.txt.Gx9" (in m) failed: Permission denied (13))',
    );
    expect(s.lastError?.message).not.toMatch(/next full sync/);
    // An incremental run of other paths succeeding does not make it healthy; a full sync does.
    const other = stepStatus(s, { ...partial, run: { ...partial.run, exitCode: 0, outcome: "ok" }, pending: 2 });
    expect(other.healthy).toBe(false);
    const repaired = stepStatus(other, {
      type: "run-done", target: K,
      at: T0 + 31_000,
      run: { kind: "full", reason: "repair", paths: 2, deleted: 0, exitCode: 0, outcome: "ok", durationMs: 900, messages: [] },
      pending: 0,
    });
    expect(repaired).toMatchObject({ healthy: true, failing: null, pending: 0, lastFullSync: { reason: "repair", paths: 2, deleted: 0 } });
  });

  test("a refused password is an authentication problem, with its retry time", () => {
    const s = fold([
      watching,
      {
        type: "run-done", target: K,
        at: T0 + 10,
        run: { kind: "full", reason: "initial sync", paths: 0, exitCode: 5, outcome: "auth", durationMs: 30, messages: ["@ERROR: auth failed on module secure", "rsync error: error starting client-server protocol (code 5)"] },
        pending: 1,
      },
      { type: "retry-scheduled", target: K, at: T0 + 10, retryAt: T0 + 60_010, attempt: 1, outcome: "auth" },
    ]);
    expect(s).toMatchObject({ healthy: false, retryAt: "2025-01-01T00:01:00.010Z", lastRun: { outcome: "auth", exitCode: 5 } });
    expect(s.lastError?.message).toBe(
      "authentication failed: the rsync daemon refused the password (rsync exit code 5: @ERROR: auth failed on module secure); " +
        "check the user's password in the manifest (users:) and the daemon's secrets file, then run `rtsync apply`; retried every few minutes",
    );
  });

  test("halted: the reason stays even when the source comes back, no full sync is promised", () => {
    const message = "source looks unmounted or emptied: /src: it is empty and the target is not; nothing deleted on the target; fix the source, then `rtsync apply` or restart the watcher";
    const s = fold([
      watching,
      { type: "full-sync-scheduled", target: K, at: T0, nextAt: T0 + 3_600_000 },
      { type: "halted", target: K, at: T0 + 5, reason: "source-emptied", message },
      { type: "source-error", at: T0 + 6, reason: "root-gone", message: "gone", retryInMs: 100 },
      { type: "source-ready", at: T0 + 7, watcher: "inotifywait", watches: 1 },
    ]);
    expect(s).toMatchObject({ state: "halted", healthy: false, nextFullSync: null, halted: { reason: "source-emptied", message }, lastError: { message } });
    expect(s.initialSync.state).toBe("failed"); // refused: apply stops following it
    expect(buildLogRecord({ type: "halted", target: K, at: T0, reason: "source-emptied", message })).toEqual({ at: "2025-01-01T00:00:00.000Z", type: "halted", target: K, reason: "source-emptied", message });
  });

  test("a run in flight that stalls makes its lane (and the watch) unhealthy while it is in flight; data moving again or its end clears it", () => {
    const watching = fold([{ type: "source-ready", at: T0, watcher: "inotify", watches: 1 }, { type: "run-start", target: K, at: T0 + 100, kind: "incremental", paths: 1, reason: "changes" }]);
    expect(watching.healthy).toBe(true);
    const stalled = stepStatus(watching, { type: "run-stalled", target: K, at: T0 + 40_000, lastMovedAt: T0 + 5000 });
    expect(stalled.healthy).toBe(false);
    expect(stalled.targets?.[0]).toMatchObject({ healthy: false, stalledSince: "2025-01-01T00:00:05.000Z" });
    expect(stalled.lastError?.message).toBe(
      "the run in flight has moved no data since 2025-01-01T00:00:05.000Z: the target stopped answering; it is stopped at its --timeout and retried",
    );
    const moving = stepStatus(stalled, { type: "run-stalled", target: K, at: T0 + 41_000, lastMovedAt: null });
    expect(moving.healthy).toBe(true);
    const done = stepStatus(stalled, { type: "run-done", target: K, at: T0 + 41_000, run: { kind: "incremental", reason: "changes", paths: 1, exitCode: 0, outcome: "ok", durationMs: 40_900, messages: [] }, pending: 0 });
    expect(done.targets?.[0]?.stalledSince).toBeNull();
    expect(done.healthy).toBe(true);
  });

  test("the heartbeat: set at start, moved by each beat, nothing else changes", () => {
    expect(start.heartbeatAt).toBe("2025-01-01T00:00:00.000Z");
    const s = stepStatus(start, { type: "heartbeat", at: T0 + 7000 });
    expect(s).toEqual({ ...start, heartbeatAt: "2025-01-01T00:00:07.000Z" });
  });

  test("an initial sync halted before it ran (the source replaced at start) is done once a later full sync succeeds", () => {
    const message = "source replaced or gone: the source root /src is now a symlink to /other";
    const halted = fold([{ type: "halted", target: K, at: T0, reason: "source-changed", message }]);
    expect(halted.initialSync.state).toBe("failed");
    const back = fold([{ type: "halted", target: K, at: T0, reason: "source-changed", message }, watching, { type: "resumed", target: K, at: T0 + 1, message: "source back" }]);
    const full: EngineEvent = { type: "run-done", target: K, at: T0 + 2, run: { kind: "full", reason: "source back", paths: 1, exitCode: 0, outcome: "ok", durationMs: 5, messages: [] }, pending: 0 };
    expect(stepStatus(back, full)).toMatchObject({ initialSync: { state: "done" }, targets: [{ initialSync: { state: "done" } }] });
  });

  test("resumed (the recorded source root is back): no longer halted, watching, healthy again after the full sync", () => {
    const message = "source replaced or gone: the source root /src is now a symlink to /other (was directory dev 254:0 ino 12); nothing deleted on the target";
    const halted = fold([watching, { type: "halted", target: K, at: T0 + 5, reason: "source-changed", message }]);
    expect(halted).toMatchObject({ state: "halted", healthy: false, halted: { reason: "source-changed" } });
    const resumed = fold([watching, { type: "halted", target: K, at: T0 + 5, reason: "source-changed", message }, { type: "resumed", target: K, at: T0 + 6, message: "source back" }]);
    expect(resumed).toMatchObject({ state: "watching", halted: null, targets: [{ halted: null }] });
    const full: EngineEvent = { type: "run-done", target: K, at: T0 + 7, run: { kind: "full", reason: "source back", paths: 1, exitCode: 0, outcome: "ok", durationMs: 5, messages: [] }, pending: 0 };
    expect(stepStatus(resumed, full)).toMatchObject({ state: "watching", healthy: true });
    expect(buildLogRecord({ type: "resumed", target: K, at: T0, message: "source back" })).toEqual({ at: "2025-01-01T00:00:00.000Z", type: "resumed", target: K, message: "source back" });
  });

  test("the watches count follows the tree; a full sync's record carries the files transferred and deleted", () => {
    const s = fold([watching, { type: "watches-counted", at: T0 + 10_000, watches: 942 }]);
    expect(s.watches).toBe(942);
    const full: EngineEvent = {
      type: "run-done", target: K,
      at: T0,
      run: { kind: "full", reason: "initial sync", paths: 20_000, deleted: 3, exitCode: 0, outcome: "ok", durationMs: 2500, bytesSent: 1000, messages: [] },
      pending: 0,
    };
    expect(buildLogRecord(full)).toMatchObject({ type: "run", kind: "full", paths: 20_000, deleted: 3 });
    expect(stepStatus(s, full).counters.pathsSent).toBe(20_000);
  });
});

describe("two targets: one lane each, the top level their aggregate", () => {
  const A = "rsync://10.0.0.2:873/backup";
  const B = "/srv/copy";
  const two = buildInitialStatus({
    name: "push",
    pid: 42,
    specHash: "abc",
    startedAt: T0,
    initialSync: true,
    targets: [
      { key: A, url: "rsync://u@10.0.0.2/backup" },
      { key: B, url: "/srv/copy" },
    ],
  });
  const ok = (target: string, at: number, kind: "full" | "incremental", reason: string): EngineEvent => ({
    type: "run-done",
    target,
    at,
    run: { kind, reason, paths: 1, exitCode: 0, outcome: "ok", durationMs: 10, bytesSent: 100, messages: [] },
    pending: 0,
  });
  const down = (at: number): EngineEvent => ({
    type: "run-done",
    target: B,
    at,
    run: { kind: "incremental", reason: "changes", paths: 3, exitCode: 10, outcome: "transient", durationMs: 5, messages: ["rsync error: error in socket IO (code 10)"] },
    pending: 3,
  });
  const started: StatusInput[] = [
    { type: "source-ready", at: T0, watcher: "inotify", watches: 3 },
    { type: "full-sync-scheduled", target: A, at: T0, nextAt: T0 + 600_000 },
    { type: "full-sync-scheduled", target: B, at: T0, nextAt: T0 + 300_000 },
    { type: "run-start", target: A, at: T0 + 1, kind: "full", paths: 0, reason: "initial sync" },
    { type: "run-start", target: B, at: T0 + 1, kind: "full", paths: 0, reason: "initial sync" },
    ok(A, T0 + 100, "full", "initial sync"),
  ];
  const fold2 = (events: readonly StatusInput[], from: WatcherStatusDoc = two): WatcherStatusDoc => events.reduce(stepStatus, from);

  test("the initial sync is over when every lane's is; the next full sync is the earliest", () => {
    const s = fold2(started);
    expect(s.initialSync.state).toBe("running"); // B's still runs
    expect(s.nextFullSync).toBe("2025-01-01T00:05:00.000Z");
    const done = stepStatus(s, ok(B, T0 + 200, "full", "initial sync"));
    expect(done.initialSync.state).toBe("done");
    expect(done.targets?.map((l) => l.initialSync.state)).toEqual(["done", "done"]);
    expect(done).toMatchObject({ healthy: true, counters: { runs: 2, fullSyncs: 2, bytesSent: 200 } });
  });

  test("a lane that is down is behind, since its first pending change; the other stays healthy; the watch is not", () => {
    const s = fold2([
      ...started,
      ok(B, T0 + 200, "full", "initial sync"),
      { type: "pending", target: B, at: T0 + 1000, pending: 1 },
      { type: "pending", target: A, at: T0 + 1000, pending: 1 },
      ok(A, T0 + 1010, "incremental", "changes"),
      down(T0 + 1020),
      { type: "retry-scheduled", target: B, at: T0 + 1020, retryAt: T0 + 2020, attempt: 1, outcome: "transient" },
      { type: "pending", target: B, at: T0 + 1500, pending: 7 },
    ]);
    const [a, b] = s.targets ?? [];
    expect(a).toMatchObject({ target: A, healthy: true, pending: 0, behindSince: null, lastSuccessAt: "2025-01-01T00:00:01.010Z", retryAt: null });
    expect(b).toMatchObject({ target: B, healthy: false, pending: 7, behindSince: "2025-01-01T00:00:01.000Z", retryAt: "2025-01-01T00:00:02.020Z", lastSuccessAt: "2025-01-01T00:00:00.200Z" });
    expect(s).toMatchObject({ state: "watching", healthy: false, pending: 7, retryAt: "2025-01-01T00:00:02.020Z", counters: { runs: 4, failedRuns: 1 } });
    // The newest error is the watch's, naming its target.
    expect(s.lastError?.message).toBe("target /srv/copy: incremental run of 3 path(s) failed (rsync exit code 10, transient): rsync error: error in socket IO (code 10)");
    // The latest run of any lane is the watch's last run.
    expect(s.lastRun).toMatchObject({ ok: false, at: "2025-01-01T00:00:01.020Z" });
    // Back: it caught up, no longer behind, and the watch is healthy again.
    const back = fold2([ok(B, T0 + 3000, "incremental", "changes")], s);
    expect(back.targets?.[1]).toMatchObject({ healthy: true, pending: 0, behindSince: null });
    expect(back).toMatchObject({ healthy: true, pending: 0, retryAt: null });
  });

  test("one lane halted (maxDelete) leaves the watcher watching, with the other lane running; every lane halted halts it", () => {
    const message = "a full sync would delete more files on the target than maxDelete (5) allows";
    const one = fold2([...started, { type: "halted", target: B, at: T0 + 300, reason: "max-delete", message }]);
    expect(one).toMatchObject({ state: "watching", healthy: false, halted: null });
    expect(one.targets?.[1]).toMatchObject({ halted: { reason: "max-delete", message }, nextFullSync: null, healthy: false });
    expect(one.nextFullSync).toBe("2025-01-01T00:10:00.000Z"); // A's: B runs none any more
    const both = stepStatus(one, { type: "halted", target: A, at: T0 + 400, reason: "source-unmounted", message: "source looks unmounted" });
    expect(both).toMatchObject({ state: "halted", healthy: false, halted: { reason: "source-unmounted" } }); // the last lane to halt
  });

  test("stopped: what each lane still had; a log record names its target", () => {
    const s = stepStatus(fold2(started), {
      type: "stopped",
      at: T0 + 5000,
      pending: 4,
      targets: [
        { target: A, pending: 0 },
        { target: B, pending: 4 },
      ],
    });
    expect(s.targets?.map((l) => l.pending)).toEqual([0, 4]);
    expect(s).toMatchObject({ state: "stopped", pending: 4 });
    expect(buildLogRecord(down(T0))).toMatchObject({ type: "run", target: B, outcome: "transient" });
  });

  test("a document without lanes (a watcher from before issue 14) still steps on watch events", () => {
    const { targets: _t, ...old } = start;
    const s = stepStatus(old, { type: "source-ready", at: T0, watcher: "inotify", watches: 1 });
    expect(s).toMatchObject({ state: "watching", healthy: true });
  });
});

describe("a full sync asked for from outside, and what full syncs repaired", () => {
  const reason = "module backup of daemon d was recreated empty at /backup";
  const ready: StatusInput = { type: "source-ready", at: T0 + 100, watcher: "inotify", watches: 3 };

  test("the lane is not healthy, saying why, until a full sync for that reason succeeded", () => {
    const asked = fold([ready, fullOk, { type: "full-sync-requested", target: K, at: T0 + 4000, reason }]);
    expect(asked).toMatchObject({ healthy: false, lastError: { message: `${reason}; full sync pending` } });
    const other = stepStatus(asked, { ...fullOk, at: T0 + 4500, run: { ...fullOk.run, reason: "schedule" } } as EngineEvent);
    expect(other.healthy).toBe(false);
    const done = stepStatus(other, { ...fullOk, at: T0 + 5000, run: { ...fullOk.run, reason, repaired: 7 } } as EngineEvent);
    expect(done).toMatchObject({ healthy: true, lastFullSync: { reason, repaired: 7 }, counters: { repairedPaths: 7 } });
    expect(done.targets?.[0]).toMatchObject({ requested: null, counters: { repairedPaths: 7 } });
  });

  test("the repaired warning is a log record naming a few paths", () => {
    expect(buildLogRecord({ type: "repaired", target: K, at: T0, reason: "schedule", count: 3, sample: ["a", "b"] })).toEqual({
      at: "2025-01-01T00:00:00.000Z",
      type: "repaired",
      level: "warning",
      target: K,
      reason: "schedule",
      paths: 3,
      sample: ["a", "b"],
      message: "full sync repaired 3 paths the events never reported: a, b, … — something changed the replica or was missed",
    });
  });
});

describe("status.json stores each lane once; the watch's aggregate is computed on read", () => {
  const A2 = "rsync://10.0.0.2:873/a";
  const B2 = "rsync://10.0.0.3:873/b";
  const twoLanes = buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: true, targets: [{ key: A2, url: A2 }, { key: B2, url: B2 }] });
  const events: StatusInput[] = [
    { type: "source-ready", at: T0, watcher: "inotify", watches: 3 },
    { type: "run-start", target: A2, at: T0 + 1, kind: "full", paths: 0, reason: "initial sync" },
    { ...fullOk, target: A2, at: T0 + 100 },
    { type: "run-done", target: B2, at: T0 + 200, run: { kind: "incremental", reason: "changes", paths: 3, exitCode: 10, outcome: "transient", durationMs: 5, messages: ["rsync error: error in socket IO (code 10)"] }, pending: 3 },
    { type: "retry-scheduled", target: B2, at: T0 + 200, retryAt: T0 + 1200, attempt: 1, outcome: "transient" },
  ];
  const doc = events.reduce(stepStatus, twoLanes);

  async function tempWatchDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "rtsync-status-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  test("written and read back, the document is what the watcher holds; the file has no aggregate", async () => {
    const dir = await tempWatchDir();
    await writeWatcherStatus(dir, doc);
    expect(await readWatcherStatus(dir)).toEqual(doc);
    const raw = JSON.parse(await readFile(join(dir, "status.json"), "utf8")) as Record<string, unknown>;
    for (const key of ["healthy", "pending", "retryAt", "lastRun", "lastIncremental", "lastFullSync", "nextFullSync", "initialSync", "halted", "failing"]) expect(raw).not.toHaveProperty(key);
    expect(raw.counters).toEqual({ sourceRestarts: 0, overflows: 0 });
    expect((raw.targets as Record<string, unknown>[]).map((l) => "healthy" in l)).toEqual([false, false]);
  });

  test("a document an older watcher wrote, with every lane field twice, reads the same", async () => {
    const dir = await tempWatchDir();
    await writeFile(join(dir, "status.json"), JSON.stringify(doc));
    expect(await readWatcherStatus(dir)).toEqual(doc);
    expect(doc).toMatchObject({ healthy: false, pending: 3, retryAt: "2025-01-01T00:00:01.200Z", initialSync: { state: "pending" }, counters: { runs: 2, failedRuns: 1 } });
  });

  test("a document without lanes (a watcher from before issue 14) reads with its own aggregates", async () => {
    const dir = await tempWatchDir();
    const { targets: _t, ...old } = fold([{ type: "source-ready", at: T0, watcher: "inotifywait", watches: 1 }, fullOk]);
    await writeFile(join(dir, "status.json"), JSON.stringify(old));
    expect(await readWatcherStatus(dir)).toEqual({ ...old, healthy: true });
  });
});
