import { describe, expect, test } from "vitest";
import type { EngineEvent } from "../engine/events.ts";
import { buildInitialStatus, buildLogRecord, stepStatus, type WatcherStatus } from "./status.ts";

const T0 = Date.UTC(2025, 0, 1);
const start = buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: true });

function fold(events: EngineEvent[]): WatcherStatus {
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
      { type: "retry-scheduled", at: T0 + 10, retryAt: T0 + 1010, attempt: 1 },
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
  expect(record?.["renames"]).toEqual([
    { from: "a", to: "b", outcome: "ok", exitCode: 0, bytes: 300 },
    { from: "c", to: "d", outcome: "partial", exitCode: 23, bytes: null, messages: ["rsync: link_stat failed"] },
  ]);
});
