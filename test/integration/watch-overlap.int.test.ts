import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EngineEvent } from "../../src/watch/engine/events.ts";
import { startHarness, type Harness } from "../fixtures/watch-harness.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempDir, waitFor, waitForSameTree } from "../helpers/temp-tree.ts";

// No head-of-line blocking (issue 18): a large transfer in flight does not hold back small
// changes to other paths of the same target; a run beside it carries them. Real rsync, a real
// rsync daemon on 127.0.0.1, real inotify, a target with --bwlimit so the big file takes seconds.
// Checks are on order (what is on the replica while the big file is still in flight), never on time.

const BIG = 16 * 1024 * 1024; // 8 s at 2 MB/s
const BWLIMIT = "--bwlimit=2m";

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

const exists = (file: string): Promise<boolean> => stat(file).then(() => true, () => false);

// The big file's transfer is under way: rsync's temp file (.big.bin.XXXXXX) is on the replica.
async function waitForTransferOf(h: Harness, name: string): Promise<void> {
  await waitFor(async () => {
    const names = await readdir(h.replica).catch(() => [] as string[]);
    return names.some((n) => n.startsWith(`.${name}.`)) || `no temp file of ${name} on the replica yet: ${names.join(", ")}`;
  }, 20_000, 10);
}

const besideRuns = (events: readonly EngineEvent[]) =>
  events.flatMap((e) => (e.type === "early-run-done" && e.run.reason === "beside a run in flight" ? [e.run] : []));

describe("a large transfer in flight", () => {
  test("small files written to other paths arrive on the replica before the big one completes", async () => {
    const h = await startHarness({ daemon, module: "m", watcher: "inotify", spec: { rsyncArgs: [BWLIMIT] } });
    await writeFile(path.join(h.source, "big.bin"), randomBytes(BIG));
    await waitForTransferOf(h, "big.bin");

    const small = ["s0.txt", "s1.txt", "sub/s2.txt", "s3.txt"];
    await writeFile(path.join(h.source, "s0.txt"), "zero");
    await writeFile(path.join(h.source, "s1.txt"), "one");
    await mkdir(path.join(h.source, "sub"));
    await writeFile(path.join(h.source, "sub/s2.txt"), "two");
    await writeFile(path.join(h.source, "s3.txt"), "three");
    await waitFor(async () => {
      const missing = [];
      for (const s of small) if (!(await exists(path.join(h.replica, s)))) missing.push(s);
      return missing.length === 0 || `not on the replica yet: ${missing.join(", ")}`;
    }, 30_000, 10);
    // Every small file is there, and the big one is still in flight (rsync renames its temp file at the end).
    expect(await exists(path.join(h.replica, "big.bin"))).toBe(false);
    expect(await readFile(path.join(h.replica, "sub/s2.txt"), "utf8")).toBe("two");
    expect(besideRuns(h.events).length).toBeGreaterThan(0);

    await waitForSameTree(h.source, h.replica, { timeoutMs: 60_000 });
    await h.settle(60_000);
  });

  test("a file replaced at the same path as the big one is not sent beside it, and the replica ends right", async () => {
    const h = await startHarness({ daemon, module: "m", watcher: "inotify", spec: { rsyncArgs: [BWLIMIT] } });
    const outside = await makeTempDir("rtsync-outside-");
    await writeFile(path.join(h.source, "big.bin"), randomBytes(BIG));
    await waitForTransferOf(h, "big.bin");

    // big.bin is replaced whole (a new inode: the run in flight keeps reading the old one), and
    // another file is written beside it.
    await writeFile(path.join(outside, "small"), "small now");
    await rename(path.join(outside, "small"), path.join(h.source, "big.bin"));
    await writeFile(path.join(h.source, "other.txt"), "other");
    await waitFor(async () => (await exists(path.join(h.replica, "other.txt"))) || "other.txt not on the replica yet", 30_000, 10);
    expect(await exists(path.join(h.replica, "big.bin"))).toBe(false); // other.txt went beside the big run

    await waitForSameTree(h.source, h.replica, { timeoutMs: 60_000 });
    await h.settle(60_000);
    expect(await readFile(path.join(h.replica, "big.bin"), "utf8")).toBe("small now");
    // Only other.txt went beside; big.bin waited for the run in flight over it.
    expect(besideRuns(h.events).reduce((n, r) => n + r.paths, 0)).toBe(1);
  });

  test("a run beside that the target refuses leaves its paths to the next run, and is not retried beside the same run", async () => {
    const single = await startRsyncDaemon({ modules: ["m"], maxConnections: 1 });
    try {
      const h = await startHarness({ daemon: single, module: "m", watcher: "inotify", spec: { rsyncArgs: [BWLIMIT] } });
      await writeFile(path.join(h.source, "big.bin"), randomBytes(BIG));
      await waitForTransferOf(h, "big.bin");
      await writeFile(path.join(h.source, "small.txt"), "small");
      await waitFor(() => besideRuns(h.events).length > 0 || "no run beside yet", 30_000, 10);
      const [refused] = besideRuns(h.events);
      expect(refused?.outcome).not.toBe("ok"); // max connections (1) reached
      await writeFile(path.join(h.source, "small2.txt"), "small 2");

      await waitForSameTree(h.source, h.replica, { timeoutMs: 60_000 });
      await h.settle(60_000);
      await h.engine.stop(); // its runs end before the daemon does
      // One attempt beside the big run, refused; its path (and small2.txt) went with the next run.
      expect(besideRuns(h.events)).toHaveLength(1);
    } finally {
      await single.dispose();
    }
  });
});
