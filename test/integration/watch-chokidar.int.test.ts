import { writeFileSync } from "node:fs";
import { link, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startHarness, type Harness } from "../fixtures/watch-harness.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// The chokidar adapter on its own: fs.watch reports no close, and chokidar's `add`/`change` come
// a few ms after the raw write events, so one write is seen two or three times. Each write done
// after a quiet spell must still cost one rsync run, and every change must still arrive.

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

// Chokidar finds a new file by reading its whole directory again, so in a big directory its
// `add` comes tens of ms after the write: long after the run the raw event started.
const crowded = (src: string): Promise<void> => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 2000; i++) files[`crowd/base-${i}.txt`] = `${i}`;
  return writeTree(src, files);
};

// Writes one file per quiet spell and waits for the engine to settle in between, as an editor
// saving now and then would; returns the incremental runs the writes caused. The write is
// synchronous, as another process's would be: an async one queues its open and its write behind
// chokidar's lstat calls in the thread pool, and a run may then start between the two.
async function writeOneByOne(h: Harness, count: number, write: (i: number) => void): Promise<number> {
  const before = h.runs("incremental").length;
  for (let i = 0; i < count; i++) {
    write(i);
    await waitForSameTree(h.source, h.replica);
    await h.settle();
    await sleep(300); // a report that comes late still shows up as an extra run
    await h.settle();
  }
  return h.runs("incremental").length - before;
}

test("10 new files, each written once after a quiet spell, go out in 10 runs", async () => {
  const h = await startHarness({ daemon, module: "m", watcher: "chokidar", setup: crowded });
  const runs = await writeOneByOne(h, 10, (i) => {
    writeFileSync(path.join(h.source, `crowd/new-${i}.txt`), `new file ${i}\n`);
  });
  expect(runs).toBe(10);
  await waitForSameTree(h.source, h.replica);
});

test("an existing file rewritten 10 times, once per quiet spell, goes out in 10 runs", async () => {
  const setup = async (src: string): Promise<void> => {
    await crowded(src);
    await writeTree(src, { "crowd/doc.txt": "v0" });
  };
  const h = await startHarness({ daemon, module: "m", watcher: "chokidar", setup });
  const runs = await writeOneByOne(h, 10, (i) => {
    writeFileSync(path.join(h.source, "crowd/doc.txt"), `version ${i + 1} of the document\n`);
  });
  expect(runs).toBe(10);
  expect(await readFile(path.join(h.replica, "crowd/doc.txt"), "utf8")).toBe("version 10 of the document\n");
});

test("a file rewritten to the same size right after its previous write still arrives", async () => {
  const h = await startHarness({ daemon, module: "m", watcher: "chokidar" });
  for (let i = 0; i < 50; i++) await writeFile(path.join(h.source, "same-size.txt"), `v${String(i).padStart(2, "0")}`);
  await waitForSameTree(h.source, h.replica);
  expect(await readFile(path.join(h.replica, "same-size.txt"), "utf8")).toBe("v49");
});

test("files that appear without a write (empty file, hard link, symlink, rename in) arrive", async () => {
  const h = await startHarness({ daemon, module: "m", watcher: "chokidar", setup: (src) => writeTree(src, { "target.txt": "t" }) });
  await writeFile(path.join(h.source, "empty.txt"), "");
  await link(path.join(h.source, "target.txt"), path.join(h.source, "hard.txt"));
  await symlink("target.txt", path.join(h.source, "link"));
  await writeFile(path.join(h.source, ".tmp-save"), "saved atomically");
  await rename(path.join(h.source, ".tmp-save"), path.join(h.source, "saved.txt"));
  await waitForSameTree(h.source, h.replica);
  await rm(path.join(h.source, "hard.txt"));
  await writeFile(path.join(h.source, "target.txt"), "t2");
  await waitForSameTree(h.source, h.replica);
});
