import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startHarness } from "../fixtures/watch-harness.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { waitFor, waitForSameTree } from "../helpers/temp-tree.ts";

// A run against a daemon that accepts the connection and never answers (SIGSTOP: the kernel's
// backlog still accepts) ends at the run's own --timeout, not at rsync's 1.5 times it, and is
// retried; once the daemon answers again the change arrives.

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

test("a stalled run is reported stalled while in flight, stopped after its --timeout by the I/O watchdog, and retried", async () => {
  const h = await startHarness({ daemon, module: "m", watcher: "inotify", spec: { rsyncArgs: ["--timeout=8"] }, engine: { batcher: { backoffInitialMs: 200, backoffMaxMs: 1000 } } });
  daemon.pause();
  try {
    await writeFile(path.join(h.source, "during-stop.txt"), "written while the daemon was stopped\n");
    await waitFor(() => h.events.some((e) => e.type === "run-done" && e.run.outcome !== "ok") || "no failed run yet", 30_000);
    const failedAt = h.events.findIndex((e) => e.type === "run-done" && e.run.outcome !== "ok");
    const failed = h.events[failedAt];
    if (failed?.type !== "run-done") throw new Error("no failed run");
    expect(failed.run).toMatchObject({ outcome: "transient", exitCode: 30 });
    expect(failed.run.messages[0]).toMatch(/^rsync moved no data for [89] s \(--timeout=8\): the target stopped answering, so the run was stopped; it is retried$/);
    // While it was still in flight, the lane was told it stalled (status: not healthy, stalledSince).
    const stalledAt = h.events.findIndex((e) => e.type === "run-stalled" && e.lastMovedAt !== null);
    expect(stalledAt).toBeGreaterThan(-1);
    expect(stalledAt).toBeLessThan(failedAt);
  } finally {
    daemon.resume();
  }
  await waitForSameTree(h.source, h.replica, { timeoutMs: 60_000 });
});
