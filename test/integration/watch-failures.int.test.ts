import { readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EngineEvent } from "../../src/watch/engine/events.ts";
import { readMaxUserWatches } from "../../src/watch/sources/inotify-proc.ts";
import { startWatchEngine } from "../../src/watch/engine/engine.ts";
import { makeInotifywaitSource } from "../../src/watch/sources/inotifywait/source.ts";
import { WatchSourceError } from "../../src/watch/sources/source.ts";
import { startHarness } from "../fixtures/watch-harness.ts";
import { toolPaths } from "../helpers/tools.ts";
import { singleTargetSpec } from "../fixtures/single-target-spec.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempTree, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// The safety nets: a target that goes away, the scheduled full sync, authentication, a watcher
// process that dies, a source directory that vanishes, and the kernel's watch limit.

const FAKE_LIMIT = fileURLToPath(new URL("../fixtures/fake-inotifywait-limit.sh", import.meta.url));
const SLOW_RSYNC = fileURLToPath(new URL("../fixtures/slow-rsync.sh", import.meta.url));
const fast = { batcher: { backoffInitialMs: 200, backoffMaxMs: 1000 }, sourceRestart: { initialMs: 100, maxMs: 500 } };

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

function count(events: readonly EngineEvent[], type: EngineEvent["type"]): number {
  return events.filter((e) => e.type === type).length;
}

describe.each(["inotifywait", "chokidar"] as const)("watcher %s", (watcher) => {
  test("files written while the daemon is down arrive after it is back, in few runs", async () => {
    const own = await startRsyncDaemon({ modules: ["down"] });
    try {
      const h = await startHarness({ daemon: own, module: "down", watcher, engine: fast });
      await own.stop();
      for (let i = 0; i < 50; i++) await writeFile(path.join(h.source, `during-outage-${i}.txt`), `${i}`);
      await waitFor(() => count(h.events, "retry-scheduled") >= 2 || "no retries yet");
      const runsDuringOutage = h.runs("incremental").length;
      await own.start();
      await waitForSameTree(h.source, h.replica);
      await h.settle();
      const last = h.events.findLast((e) => e.type === "run-done");
      expect(last?.type === "run-done" && last.run.outcome).toBe("ok");
      // Pending changes merge while waiting: one run per retry, not one per file.
      expect(runsDuringOutage).toBeLessThan(15);
    } finally {
      await own.dispose();
    }
  });

  test("a file placed directly on the replica is removed at the next scheduled full sync", async () => {
    const h = await startHarness({
      daemon,
      module: "m",
      watcher,
      spec: { fullSyncSchedule: "*/2 * * * * *" },
      setup: (src) => writeTree(src, { "a.txt": "a" }),
    });
    await writeFile(path.join(h.replica, "stray.txt"), "not in the source");
    await waitFor(
      () =>
        stat(path.join(h.replica, "stray.txt")).then(
          () => "stray.txt is still on the replica",
          () => true as const,
        ),
      10_000,
    );
    expect(h.runs("full").some((r) => r.reason === "schedule")).toBe(true);
  });
});

test("a daemon with auth users: the password goes through --password-file, and a wrong one is an authentication failure, retried slowly", async () => {
  const secure = await startRsyncDaemon({ modules: ["secure"], users: { rsync_backup: "pa ss:word" } });
  try {
    const wrong = await secure.writePasswordFile("wrong");
    const denied = await startHarness({
      daemon: secure,
      module: "secure",
      watcher: "inotifywait",
      user: "rsync_backup",
      spec: { passwordFile: wrong },
      engine: fast,
      settle: false,
    });
    await waitFor(() => denied.events.some((e) => e.type === "run-done" && e.run.exitCode === 5) || "no failed run yet");
    const failed = denied.events.find((e) => e.type === "run-done");
    expect(failed?.type === "run-done" && failed.run.outcome).toBe("auth");
    expect(failed?.type === "run-done" && failed.run.messages.join("\n")).toMatch(/auth failed on module secure/);
    // Retried, but slowly: the first retry is a minute away even with fast transient retries.
    await waitFor(() => denied.events.some((e) => e.type === "retry-scheduled") || "no retry scheduled");
    const retry = denied.events.find((e) => e.type === "retry-scheduled");
    expect(retry).toMatchObject({ type: "retry-scheduled", outcome: "auth", attempt: 1 });
    expect(retry?.type === "retry-scheduled" && retry.retryAt - retry.at).toBeGreaterThanOrEqual(59_000);
    await denied.engine.stop();

    const passwordFile = await secure.writePasswordFile("pa ss:word");
    const h = await startHarness({
      daemon: secure,
      module: "secure",
      watcher: "inotifywait",
      user: "rsync_backup",
      spec: { passwordFile },
      setup: (src) => writeTree(src, { "initial.txt": "i" }),
    });
    await writeFile(path.join(h.source, "later.txt"), "l");
    await waitForSameTree(h.source, h.replica);
    expect(JSON.stringify(h.spec)).not.toContain("pa ss:word");
  } finally {
    await secure.dispose();
  }
});

test("stop cancels a run that does not finish in time, and leaves a pending full sync to the next start", async () => {
  const h = await startHarness({
    daemon,
    module: "m",
    watcher: "inotifywait",
    spec: { rsync: SLOW_RSYNC },
    setup: (src) => writeTree(src, { "a.txt": "a" }), // not empty: the deletion guard needs no rsync of its own
    engine: { stopTimeoutMs: 300 },
    settle: false,
  });
  await waitFor(() => h.runs("full").length > 0 || "initial sync not started");
  await h.engine.stop();
  const done = h.events.find((e) => e.type === "run-done");
  expect(done?.type === "run-done" && done.run.outcome).toBe("cancelled");
  expect(h.runs("full")).toHaveLength(1); // no hurried second attempt
  expect(h.events.at(-1)).toMatchObject({ type: "stopped", pending: 1 });
});

describe("inotifywait supervision", () => {
  // The inotifywait child of this process that watches `source`.
  async function findWatcherPid(source: string): Promise<number> {
    const { readdir } = await import("node:fs/promises");
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
      const statText = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
      const ppid = Number(statText.slice(statText.lastIndexOf(")") + 2).split(" ")[1]);
      const argv = cmdline.split("\0");
      if (ppid === process.pid && argv[0]?.endsWith("inotifywait") === true && argv.includes(source)) return Number(entry);
    }
    throw new Error(`no inotifywait child watching ${source}`);
  }

  test("a killed inotifywait is restarted, and a full sync picks up what happened meanwhile", async () => {
    const h = await startHarness({ daemon, module: "m", watcher: "inotifywait", engine: fast, spec: { initialSync: false } });
    process.kill(await findWatcherPid(h.source), "SIGKILL");
    await writeTree(h.source, { "while-blind/a.txt": "a", "b.txt": "b" });
    await waitForSameTree(h.source, h.replica);
    expect(h.events.find((e) => e.type === "source-error")).toMatchObject({ reason: "exited" });
    expect(h.runs("full").map((r) => r.reason)).toEqual(["watcher restarted"]);
    // and it watches again
    await writeFile(path.join(h.source, "after.txt"), "after");
    await waitForSameTree(h.source, h.replica);
  });

  test("a deleted source directory is reported as such, not as a silent stop", async () => {
    const h = await startHarness({ daemon, module: "m", watcher: "inotifywait", engine: fast });
    await rm(h.source, { recursive: true });
    await waitFor(() => h.events.some((e) => e.type === "source-error") || "no source error yet");
    const error = h.events.find((e) => e.type === "source-error");
    expect(error).toMatchObject({ reason: "root-gone" });
    expect(error?.type === "source-error" && error.message).toMatch(/was deleted, moved or unmounted/);
  });

  test("a tree needing more watches than fs.inotify.max_user_watches is one clear error with the number needed", async () => {
    const src = await makeTempTree({ "a/x": "1", "b/c/y": "2" }); // 4 directories with the root
    const source = makeInotifywaitSource(src, { binary: FAKE_LIMIT });
    const errors: WatchSourceError[] = [];
    const sub = source.subscribe({ onEvents: () => undefined, onError: (e) => errors.push(e) });
    const failure = await sub.ready.then(
      () => undefined,
      (e: unknown) => e,
    );
    await sub.close();
    expect(failure).toBeInstanceOf(WatchSourceError);
    const limit = await readMaxUserWatches();
    expect((failure as WatchSourceError).reason).toBe("watch-limit");
    expect((failure as WatchSourceError).message).toBe(
      `cannot watch ${src}: the tree needs 4 inotify watches (one per directory) but fs.inotify.max_user_watches is ${limit}; ` +
        "raise the sysctl fs.inotify.max_user_watches to at least 4 plus what other programs use " +
        "(manifest key sysctl: fs.inotify.max_user_watches, or sysctl -w fs.inotify.max_user_watches=N); " +
        "inotifywait stops watching the whole tree at the limit (watcher: inotify, the default where its addon builds, leaves only the directories past it unwatched)",
    );
  });

  test("the engine keeps retrying a source that cannot start, and says why each time", async () => {
    const src = await makeTempTree({ "a/x": "1" });
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(
      singleTargetSpec({ name: "t", source: src, target: daemon.url("m"), daemonTarget: true, exclude: [], delayMs: 0, watcher: "inotifywait", rsyncArgs: [], initialSync: true, stateDir: src, ...(await toolPaths()), inotifywait: FAKE_LIMIT }),
      { ...fast, onEvent: (e) => events.push(e) },
    );
    try {
      await waitFor(() => count(events, "source-error") >= 2 || "fewer than two attempts yet");
      const errors = events.filter((e) => e.type === "source-error");
      expect(errors.every((e) => e.type === "source-error" && e.reason === "watch-limit")).toBe(true);
      expect(count(events, "run-start")).toBe(0); // no sync from a tree it cannot watch
    } finally {
      await engine.stop();
    }
  });
});
