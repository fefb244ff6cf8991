import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readLogRecords, type LogRecord } from "../../src/state/watch-log.ts";
import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { sampleKey, startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { readInventory, waitFor } from "../helpers/probes.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";

// Issue 18, "divergence the events never saw is found, repaired and counted", through the real
// agent, rsyncd on 127.0.0.1 and a real watcher: the module directory removed on the receiver
// (`rm -rf`) is recreated by the agent, which says so and has the watcher fill it at once (not at
// the next scheduled full sync, set here to once a year); a file edited on the replica is repaired
// and counted by the next full sync, while a change the events have pending is not counted.

const PW = "pw-REPAIR-SECRET-18";
const DIRS = 4;
const FILES_PER_DIR = 50;
/** Every path of the source: the files, their directories, big.bin. */
const PATHS = DIRS * FILES_PER_DIR + DIRS + 1;

function manifest(f: ManifestFixture, port: number): string {
  // delay: 1m keeps a change pending (not sent) long enough for a full sync to find it first;
  // --bwlimit makes the refill of the 4 MiB file last ~4 s, a window wide enough to see the lane Degraded.
  return loopbackManifest(f, {
    port,
    daemonExtra: "    uid: root\n    gid: root\n",
    rest: `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    delay: 1m
    rsyncArgs: ["--bwlimit=1m"]
    fullSync: { schedule: "0 0 1 1 *" }
`,
  });
}

type RunRecord = Extract<LogRecord, { type: "run" }>;
type RepairedRecord = Extract<LogRecord, { type: "repaired" }>;

describe("divergence the events never saw", () => {
  let f: ManifestFixture;
  let agent: AgentProcess;
  let port: number;
  const watchDir = () => `${f.stateDir}/watches/push`;
  const src = () => f.path("source");
  const replica = () => f.path("replica");
  const runs = async () => (await readLogRecords(watchDir())).filter((r): r is RunRecord => r.type === "run");
  const warnings = async () => (await readLogRecords(watchDir())).filter((r): r is RepairedRecord => r.type === "repaired");
  const lane = () => ({ watch: "push", target: `rsync://127.0.0.1:${port}/data` });

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    for (let d = 0; d < DIRS; d++) {
      await mkdir(f.path("source", `d${d}`), { recursive: true });
      for (let i = 0; i < FILES_PER_DIR; i++) await writeFile(f.path("source", `d${d}`, `f${i}.txt`), `file ${d}/${i}\n`);
    }
    await writeFile(f.path("source", "big.bin"), randomBytes(4 * 1024 * 1024));
    const file = await f.writeManifest(manifest(f, port));
    agent = await startAgentProcess([file, "--interval", "1s"], { DEMO_PW: PW });
    await waitForHealth(agent, 200);
    await waitForSameTree(src(), replica());
  });
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (f) {
      await f.adopt(f.path("rtsync.yaml"));
      await f.dispose();
    }
  });

  test("the initial sync filled the replica and counted nothing", async () => {
    const initial = (await runs()).find((r) => r.kind === "full" && r.reason === "initial sync");
    expect(initial).toMatchObject({ outcome: "ok" });
    expect(initial?.repaired).toBeUndefined();
    expect(await warnings()).toEqual([]);
  });

  test("rm -rf of the module: recreated, said, filled at once, every path counted as repaired", async () => {
    const from = agent.lines.length;
    await rm(replica(), { recursive: true, force: true });
    const line = await agent.waitForLine((l) => l.level === "warn" && l.msg.startsWith("module data of daemon d1 was recreated empty at "), 20_000, from);
    expect(line.msg).toContain("full sync requested from watch push");
    // Degraded, saying why, while that full sync fills the module again.
    const reason = `module data of daemon d1 was recreated empty at ${replica()}`;
    const degraded = await waitForHealth(agent, 503, 10_000);
    expect(JSON.stringify(degraded)).toContain(`${reason}; full sync pending`);
    // Filled by the full sync the agent asked for, not by a schedule (once a year) nor by events.
    await waitForSameTree(src(), replica(), { timeoutMs: 30_000 });
    expect(await waitFor(async () => (await runs()).some((r) => r.kind === "full" && r.reason === reason), 10_000)).toBe(true);
    const run = (await runs()).find((r) => r.kind === "full" && r.reason === reason);
    // Every file and directory of the source was created again (the root itself is not a path).
    expect(run).toMatchObject({ outcome: "ok", repaired: PATHS });
    // The warning is appended just after the run's record.
    expect(await waitFor(async () => (await warnings()).some((w) => w.reason === reason), 10_000)).toBe(true);
    const warning = (await warnings()).find((w) => w.reason === reason);
    expect(warning).toMatchObject({ level: "warning", paths: PATHS });
    expect(warning?.sample).toHaveLength(5);
    expect(warning?.message).toMatch(new RegExp(`^full sync repaired ${PATHS} paths the events never reported: big.bin, d0, d0/f0.txt, .*, … — something changed the replica or was missed$`));
    // Healthy again once that full sync succeeded, and counted.
    expect(await waitFor(async () => (await readWatcherStatus(watchDir()))?.targets?.[0]?.requested === null, 10_000)).toBe(true);
    await waitForHealth(agent, 200);
    const m = await agent.metrics();
    expect(m.get(sampleKey("rtsync_watch_repaired_paths_total", lane()))).toBe(PATHS);
    expect(m.get(sampleKey("rtsync_module_recreated_total", { daemon: "d1", module: "data" }))).toBe(1);
  });

  test("a file edited on the replica is repaired and counted 1 by the next full sync; a pending change is not counted", async () => {
    const before = (await runs()).length;
    await writeFile(f.path("replica", "d1", "f7.txt"), "edited on the replica, behind the watcher's back\n");
    // Written on the source and seen by the watcher, but held by `delay: 1m`: pending, not sent.
    await writeFile(f.path("source", "d2", "pending.txt"), "pending\n");
    expect(await waitFor(async () => ((await readWatcherStatus(watchDir()))?.pending ?? 0) > 0, 10_000)).toBe(true);
    expect((await readdir(f.path("replica", "d2"))).includes("pending.txt")).toBe(false);
    const pid = (await readInventory(f.stateDir)).watchers["push"]?.pid;
    if (pid === undefined) throw new Error("no watcher");
    process.kill(pid, "SIGUSR2"); // a full sync now (no request file: every target)
    expect(await waitFor(async () => (await runs()).slice(before).some((r) => r.kind === "full"), 20_000)).toBe(true);
    const run = (await runs()).slice(before).find((r) => r.kind === "full");
    expect(run).toMatchObject({ reason: "full sync requested (SIGUSR2)", outcome: "ok", repaired: 1 });
    const requested = "full sync requested (SIGUSR2)";
    expect(await waitFor(async () => (await warnings()).some((w) => w.reason === requested), 10_000)).toBe(true);
    expect((await warnings()).find((w) => w.reason === requested)).toMatchObject({ paths: 1, sample: ["d1/f7.txt"], message: "full sync repaired 1 path the events never reported: d1/f7.txt — something changed the replica or was missed" });
    await waitForSameTree(src(), replica());
    // The metric reads the watcher's status document, rewritten within a second.
    const repairedTotal = async () => (await agent.metrics()).get(sampleKey("rtsync_watch_repaired_paths_total", lane()));
    expect(await waitFor(async () => (await repairedTotal()) === PATHS + 1, 10_000)).toBe(true);
  });
});
