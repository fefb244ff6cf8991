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

test("a stalled run is stopped after its --timeout by the I/O watchdog and retried", async () => {
  const h = await startHarness({ daemon, module: "m", watcher: "inotify", spec: { rsyncArgs: ["--timeout=3"] }, engine: { batcher: { backoffInitialMs: 200, backoffMaxMs: 1000 } } });
  daemon.pause();
  try {
    await writeFile(path.join(h.source, "during-stop.txt"), "written while the daemon was stopped\n");
    await waitFor(() => h.events.some((e) => e.type === "run-done" && e.run.outcome !== "ok") || "no failed run yet", 30_000);
    const failed = h.events.find((e) => e.type === "run-done" && e.run.outcome !== "ok");
    if (failed?.type !== "run-done") throw new Error("no failed run");
    expect(failed.run.outcome).toBe("transient");
    expect(failed.run.messages[0]).toMatch(/^rsync moved no data for [34] s \(--timeout=3\): the target stopped answering, so the run was stopped; it is retried$/);
  } finally {
    daemon.resume();
  }
  await waitForSameTree(h.source, h.replica, { timeoutMs: 60_000 });
});
