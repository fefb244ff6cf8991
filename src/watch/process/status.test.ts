import { describe, expect, test } from "vitest";
import type { EngineEvent } from "../engine/events.ts";
import type { WatcherStatusDoc } from "../../state/watcher-status.ts";
import { buildInitialStatus, buildLogRecord, stepStatus, type StatusInput } from "./status.ts";

const T0 = Date.UTC(2025, 0, 1);
const start = buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: true });

function fold(events: StatusInput[]): WatcherStatusDoc {
  return events.reduce(stepStatus, start);
}

const fullOk: EngineEvent = {
  type: "run-done",
  at: T0 + 3000,
  run: { kind: "full", reason: "initial sync", paths: 0, exitCode: 0, outcome: "ok", durationMs: 2500, bytesSent: 1000, messages: [] },
  pending: 2,
};

describe("stepStatus", () => {
  test("start-up: watching, initial sync with progress, then done", () => {
    const s = fold([
      { type: "source-ready", at: T0 + 100, watcher: "inotifywait", watches: 12 },
      { type: "full-sync-scheduled", at: T0 + 100, nextAt: T0 + 600_000 },
      { type: "run-start", at: T0 + 200, kind: "full", paths: 0, reason: "initial sync" },
      { type: "run-progress", at: T0 + 1000, progress: { bytes: 500, percent: 50, files: 3 } },
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
    const midFile = stepStatus(s, { type: "run-progress", at: T0 + 1100, progress: { bytes: 700, percent: 70 } });
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
        type: "run-done",
        at: T0 + 10,
        run: { kind: "incremental", reason: "changes", paths: 3, exitCode: 10, outcome: "transient", durationMs: 5, messages: ["rsync: [sender] failed to connect to 10.0.0.2 (10.0.0.2): Connection refused (111)", "rsync error: error in socket IO (code 10)"] },
        pending: 5,
      },
      { type: "retry-scheduled", at: T0 + 10, retryAt: T0 + 1010, attempt: 1, outcome: "transient" },
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
  expect(buildLogRecord(fullOk)).toEqual({ at: "2025-01-01T00:00:03.000Z", type: "run", kind: "full", reason: "initial sync", paths: 0, bytes: 1000, durationMs: 2500, exitCode: 0, outcome: "ok" });
  expect(buildLogRecord({ type: "changes", at: T0, count: 1, pending: 1 })).toBeUndefined();
});

test("log records: a batch's rename steps are listed, with the messages of one that failed", () => {
  const record = buildLogRecord({
    type: "run-done",
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
    type: "run-done",
    at: T0 + 10,
    run: { kind: "incremental", reason: "changes", paths: 2, exitCode: 23, outcome: "partial", durationMs: 5, messages: [] },
    pending: 2,
  };
  const gaveUp: EngineEvent = {
    type: "gave-up",
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
      { type: "repair-scheduled", at: T0 + 20, repairAt: T0 + 30_020, attempt: 1 },
      { type: "pending", at: T0 + 20, pending: 2 },
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
      type: "run-done",
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
        type: "run-done",
        at: T0 + 10,
        run: { kind: "full", reason: "initial sync", paths: 0, exitCode: 5, outcome: "auth", durationMs: 30, messages: ["@ERROR: auth failed on module secure", "rsync error: error starting client-server protocol (code 5)"] },
        pending: 1,
      },
      { type: "retry-scheduled", at: T0 + 10, retryAt: T0 + 60_010, attempt: 1, outcome: "auth" },
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
      { type: "full-sync-scheduled", at: T0, nextAt: T0 + 3_600_000 },
      { type: "halted", at: T0 + 5, reason: "source-emptied", message },
      { type: "source-error", at: T0 + 6, reason: "root-gone", message: "gone", retryInMs: 100 },
      { type: "source-ready", at: T0 + 7, watcher: "inotifywait", watches: 1 },
    ]);
    expect(s).toMatchObject({ state: "halted", healthy: false, nextFullSync: null, halted: { reason: "source-emptied", message }, lastError: { message } });
    expect(s.initialSync.state).toBe("failed"); // refused: apply stops following it
    expect(buildLogRecord({ type: "halted", at: T0, reason: "source-emptied", message })).toEqual({ at: "2025-01-01T00:00:00.000Z", type: "halted", reason: "source-emptied", message });
  });

  test("the watches count follows the tree; a full sync's record carries the files transferred and deleted", () => {
    const s = fold([watching, { type: "watches-counted", at: T0 + 10_000, watches: 942 }]);
    expect(s.watches).toBe(942);
    const full: EngineEvent = {
      type: "run-done",
      at: T0,
      run: { kind: "full", reason: "initial sync", paths: 20_000, deleted: 3, exitCode: 0, outcome: "ok", durationMs: 2500, bytesSent: 1000, messages: [] },
      pending: 0,
    };
    expect(buildLogRecord(full)).toMatchObject({ type: "run", kind: "full", paths: 20_000, deleted: 3 });
    expect(stepStatus(s, full).counters.pathsSent).toBe(20_000);
  });
});
