import { describe, expect, it, test } from "vitest";
import { buildInitialStatus, stepStatus } from "../watch/process/status.ts";
import { hostJobProblem, watcherProblem } from "./status.ts";

// Issue 18: a watcher with unwatched directories is Degraded, naming them, not halted.

const T0 = Date.UTC(2025, 0, 1);
const K = "rsync://10.0.0.2:873/backup";
const watching = stepStatus(buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: false, targets: [{ key: K, url: K }] }), {
  type: "source-ready",
  at: T0,
  watcher: "inotify",
  watches: 10,
});

test("unwatched directories are the watcher's problem, with the limit to raise", () => {
  expect(watcherProblem(true, watching)).toBeUndefined();
  const s = stepStatus(watching, { type: "unwatched", at: T0 + 1, dirs: [{ path: "many/d7", reason: "watch-limit", since: T0 }], maxUserWatches: 30 });
  expect(watcherProblem(true, s)).toBe(
    "1 directory is not watched (many/d7): the inotify watch limit (fs.inotify.max_user_watches = 30) is reached; raise it in the manifest's sysctl section. " +
      "The rest replicates as changes happen; these are synced whole every 10 s (longer past 1,000 of them) and watched again once the kernel allows it",
  );
});

test("a failing lane and unwatched directories: both are said", () => {
  const s = stepStatus(watching, { type: "unwatched", at: T0 + 1, dirs: [{ path: "x", reason: "permission", since: T0 }] });
  const failed = stepStatus(s, { type: "run-done", target: K, at: T0 + 2, run: { kind: "incremental", reason: "changes", paths: 1, exitCode: 12, outcome: "transient", durationMs: 5, messages: ["rsync error: error in rsync protocol data stream (code 12)"] }, pending: 1 });
  expect(watcherProblem(true, failed)).toMatch(/^incremental run of 1 path\(s\) failed \(rsync exit code 12, transient\).*; 1 directory is not watched \(x\): the directory may not be read/);
});

describe("hostJobProblem", () => {
  const job = { specHash: "h", since: "t", restarts: 1 };
  it("a job the host does not run, keeps failing, or stops is not running, with why", () => {
    expect(hostJobProblem(undefined)).toBe("the watch host does not run it (run `rtsync apply`)");
    expect(hostJobProblem({ ...job, state: "restarting", lastError: { at: "t", message: "inotifywait is not installed" }, retryAt: "2026-12-06T00:00:04Z" })).toBe(
      "failed in the watch host: inotifywait is not installed; the watch host starts it again at 2026-12-06T00:00:04Z",
    );
    expect(hostJobProblem({ ...job, state: "stopping" })).toBe("being stopped by the watch host");
  });
  it("a job starting, held for a handover or running has no problem of the host's", () => {
    for (const state of ["starting", "held", "running"] as const) expect(hostJobProblem({ ...job, state })).toBeUndefined();
  });
});
