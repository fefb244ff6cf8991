import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { buildLaneSpecs, type WatchSpec } from "../../src/state/watch-spec.ts";
import { runBatch } from "../../src/watch/rsync/batch.ts";
import { makeTempDir, writeTree } from "../helpers/temp-tree.ts";
import { toolPaths } from "../helpers/tools.ts";

// Bulk work yields the CPU (issue 20: the watch host runs every job of a node, and one job's storm
// must not take the CPU the small runs of another need): a full sync and an incremental run of
// more than 1,000 paths run at nice 10, a small incremental run at the normal priority. The rsync
// here is a wrapper that writes down its own nice value (/proc/self/stat field 19), then runs the
// real rsync with the same arguments (after 0.2 s: the priority is set right after the spawn).

test("a full sync and a storm's batch run niced; a small incremental run does not", async () => {
  const dir = await makeTempDir("rtsync-nice-");
  const log = join(dir, "nice.log");
  const tools = await toolPaths();
  const wrapper = join(dir, "rsync");
  await writeFile(wrapper, `#!/bin/sh\nsleep 0.2\nread -r stat < /proc/$$/stat\necho "$(echo "$stat" | sed 's/.*) //' | cut -d' ' -f17)" >> ${log}\nexec ${tools.rsync} "$@"\n`);
  await chmod(wrapper, 0o755);
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

  const small = await runBatch(lane, { kind: "incremental", entries: new Map([["f1.txt", false]]), renames: new Map() }, { signal });
  expect(small.outcome).toBe("ok");
  expect(await niceOfLastRun()).toBe("0");

  const storm = new Map(Array.from({ length: 1001 }, (_, i) => [`f${i}.txt`, false] as const));
  const big = await runBatch(lane, { kind: "incremental", entries: storm, renames: new Map() }, { signal });
  expect(big.outcome).toBe("ok");
  expect(await niceOfLastRun()).toBe("10");
});
