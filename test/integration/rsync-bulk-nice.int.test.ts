import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { buildLaneSpecs, type WatchSpec } from "../../src/state/watch-spec.ts";
import { runBatch } from "../../src/watch/rsync/batch.ts";
import { isBulkRun } from "../../src/watch/rsync/bulk.ts";
import { startHarness } from "../fixtures/watch-harness.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempDir, waitFor, writeTree } from "../helpers/temp-tree.ts";
import { toolPaths } from "../helpers/tools.ts";

// Bulk work yields the CPU (the watch host runs every job of a node, and one job's storm must not
// take the CPU the small runs of another need; src/watch/rsync/bulk.ts): a full sync, an
// incremental run of more than 1,000 paths, and the next run of a lane working through a backlog
// run at nice 10, a small incremental run after a quiet spell at the normal priority. The rsync
// here is a wrapper that writes down its own nice value (/proc/self/stat field 19), then runs the
// real rsync with the same arguments (after 0.3 s: the priority is set right after the spawn, and
// every run takes longer than the 250 ms that make a lane busy).

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(async () => {
  await daemon.stop();
});

async function niceWrapper(dir: string): Promise<{ wrapper: string; log: string }> {
  const log = join(dir, "nice.log");
  const tools = await toolPaths();
  const wrapper = join(dir, "rsync");
  await writeFile(wrapper, `#!/bin/sh\nsleep 0.3\nread -r stat < /proc/$$/stat\necho "$(echo "$stat" | sed 's/.*) //' | cut -d' ' -f17)" >> ${log}\nexec ${tools.rsync} "$@"\n`);
  await chmod(wrapper, 0o755);
  return { wrapper, log };
}

test("a full sync and a storm's batch run niced; a small incremental run does not", async () => {
  const dir = await makeTempDir("rtsync-nice-");
  const { wrapper, log } = await niceWrapper(dir);
  const tools = await toolPaths();
  await mkdir(join(dir, "src"));
  await mkdir(join(dir, "dst"));
  await writeTree(join(dir, "src"), Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`f${i}.txt`, `${i}`])));
  const spec: WatchSpec = { name: "nice", source: join(dir, "src"), targets: [{ key: join(dir, "dst"), target: join(dir, "dst"), daemonTarget: false, rsyncArgs: [] }], exclude: [], delayMs: 0, watcher: "inotify", initialSync: true, stateDir: join(dir, "state"), ...tools, rsync: wrapper };
  const niceOfLastRun = async (): Promise<string | undefined> => (await readFile(log, "utf8")).trim().split("\n").at(-1);
  const [lane] = buildLaneSpecs(spec);
  if (lane === undefined) throw new Error("no lane");
  const signal = new AbortController().signal;
  const full = await runBatch(lane, { kind: "full" }, { signal });
  expect(full.outcome).toBe("ok");
  expect(await niceOfLastRun()).toBe("10");

  const one = { kind: "incremental", entries: new Map([["f1.txt", false]]), renames: new Map() } as const;
  const small = await runBatch(lane, one, { signal, bulk: isBulkRun(one, undefined, Date.now()) });
  expect(small.outcome).toBe("ok");
  expect(await niceOfLastRun()).toBe("0");

  const storm = new Map(Array.from({ length: 1001 }, (_, i) => [`f${i}.txt`, false] as const));
  const stormBatch = { kind: "incremental", entries: storm, renames: new Map() } as const;
  const big = await runBatch(lane, stormBatch, { signal, bulk: isBulkRun(stormBatch, undefined, Date.now()) });
  expect(big.outcome).toBe("ok");
  expect(await niceOfLastRun()).toBe("10");
});

test("a lane working through a backlog runs its next batch niced, and a change after a quiet spell is not", async () => {
  const dir = await makeTempDir("rtsync-nice-");
  const { wrapper, log } = await niceWrapper(dir);
  const h = await startHarness({ daemon, module: "m", watcher: "inotify", spec: { rsync: wrapper, initialSync: false } });
  const nices = async (): Promise<string[]> => (await readFile(log, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
  // One change: its run takes > 250 ms (the wrapper); a second change arrives while it runs and
  // goes out in the run right after it: that lane is busy.
  await writeFile(join(h.source, "a.txt"), "a");
  await waitFor(async () => h.runs("incremental").length >= 1 || "no run yet", 10_000, 5);
  await writeFile(join(h.source, "b.txt"), "b");
  await h.settle();
  await waitFor(async () => (await nices()).length >= 2 || "fewer than 2 runs logged", 10_000, 20);
  expect(await nices()).toEqual(["0", "10"]);
  // A quiet spell (> 1 s after the last run ended): the next change runs at the normal priority.
  await new Promise((r) => setTimeout(r, 1500));
  await writeFile(join(h.source, "c.txt"), "c");
  await h.settle();
  await waitFor(async () => (await nices()).length >= 3 || "fewer than 3 runs logged", 10_000, 20);
  expect(await nices()).toEqual(["0", "10", "0"]);
});
