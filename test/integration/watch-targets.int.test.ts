import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import type { VerifyReport } from "../../src/resources/verify-report.ts";
import { readLogRecords } from "../../src/state/watch-log.ts";
import { readWatcherStatus, type LaneStatus } from "../../src/state/watcher-status.ts";
import type { WatchSpec } from "../../src/state/watch-spec.ts";
import { startWatchEngine } from "../../src/watch/engine/engine.ts";
import type { EngineEvent } from "../../src/watch/engine/events.ts";
import type { EventSource } from "../../src/watch/sources/source.ts";
import { useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { readInventory } from "../helpers/probes.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempDir, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";
import { toolPaths } from "../helpers/tools.ts";

// One source, several replicas (issue 14): a watch with two targets runs one lane per target. Real
// rsync, two real rsync daemons on 127.0.0.1 (the test's own, not rtsync's: stopping one is a
// target going down), real inotify. Checks are made by polling, never by timing.

let a: RsyncDaemon;
let b: RsyncDaemon;
beforeAll(async () => {
  [a, b] = await Promise.all([startRsyncDaemon({ modules: ["m"] }), startRsyncDaemon({ modules: ["m"] })]);
});
afterAll(async () => {
  await Promise.all([a.dispose(), b.dispose()]);
});

let counter = 0;
const sub = () => `t${process.pid}-${++counter}`;

// A watch of `source` to a fresh directory on each of the two daemons (a, then b), by the engine
// itself; `over` replaces each target's own fields.
async function twoTargets(
  source: string,
  over: ReadonlyArray<Partial<WatchSpec["targets"][number]>> = [],
  name = "two",
): Promise<{ spec: WatchSpec; replicas: string[]; sa: string; sb: string }> {
  const [sa, sb] = [sub(), sub()];
  await Promise.all([mkdir(a.path("m", sa)), mkdir(b.path("m", sb))]);
  const spec: WatchSpec = {
    name,
    source,
    targets: [
      { key: `rsync://127.0.0.1:${a.port}/m/${sa}`, target: `${a.url("m")}/${sa}`, daemonTarget: true, rsyncArgs: [], ...over[0] },
      { key: `rsync://127.0.0.1:${b.port}/m/${sb}`, target: `${b.url("m")}/${sb}`, daemonTarget: true, rsyncArgs: [], ...over[1] },
    ],
    exclude: [],
    delayMs: 0,
    watcher: "inotify",
    initialSync: true,
    stateDir: await makeTempDir("rtsync-state-"),
    ...(await toolPaths()),
  };
  return { spec, replicas: [a.path("m", sa), b.path("m", sb)], sa, sb };
}

// Names, types, sizes and contents (not owners or modes: a per-target --chmod changes those).
async function contentDiff(source: string, replica: string): Promise<string> {
  const r = await execa("rsync", ["-rlnci", "--delete", `${source}/`, `${replica}/`], { reject: false, env: { LC_ALL: "C" }, encoding: "latin1" });
  if (r.exitCode !== 0) return `rsync -rlnci exited ${String(r.exitCode)}: ${String(r.stderr)}`;
  return String(r.stdout)
    .split("\n")
    .filter((l) => l !== "" && !/^\.d\S* \.\/$/.test(l))
    .join("\n");
}

describe("the engine with two daemon targets", () => {
  test("both replicas equal the source after creates, rewrites, deletes, a directory rename and odd names", async () => {
    const source = await makeTempDir("rtsync-src-");
    await writeTree(source, { "old/keep.txt": "k", "old/deep/x.txt": "x", "gone.txt": "g" });
    const { spec, sa, sb } = await twoTargets(source);
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(spec, { onEvent: (e) => events.push(e) });
    try {
      await engine.ready;
      await waitFor(() => engine.idle() || `pending ${engine.pending()}`);
      await waitForSameTree(source, a.path("m", sa));
      await waitForSameTree(source, b.path("m", sb));
      // The mixed workload.
      const names = ["with space", "new\nline", "日本語 ñ", "-leading-dash", "--delete", "glob*?[x]", "#hash", "d[1]/in*side"];
      for (const name of names) await writeTree(source, { [name]: `content of ${name}` });
      await writeFile(Buffer.concat([Buffer.from(`${source}/`), Buffer.from([0x6f, 0xff, 0xfe])]), "not utf-8");
      await writeTree(source, { "new/dir/a.txt": "a", "new/dir/b.txt": "b" });
      for (let i = 0; i < 20; i++) await writeFile(path.join(source, "hot.txt"), `version ${i}\n`);
      await rm(path.join(source, "gone.txt"));
      await rename(path.join(source, "old"), path.join(source, "renamed"));
      await rm(path.join(source, "new", "dir", "a.txt"));
      await waitForSameTree(source, a.path("m", sa));
      await waitForSameTree(source, b.path("m", sb));
      // Each lane ran its own batches, and a renamed directory was a rename step on each.
      const done = events.filter((e): e is Extract<EngineEvent, { type: "run-done" }> => e.type === "run-done");
      for (const t of spec.targets) {
        const mine = done.filter((e) => e.target === t.key);
        expect(mine.filter((e) => e.run.kind === "full")).toHaveLength(1); // the initial sync, nothing else
        expect(mine.some((e) => e.run.renameSteps?.some((r) => r.to === "renamed" && r.outcome === "ok"))).toBe(true);
      }
    } finally {
      await engine.stop();
    }
  });
});

// A manifest of two targets (the test's daemons a and b), applied through the real CLI.
function manifest(f: ManifestFixture, targets: string, extra = ""): string {
  return `version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    targets:
${targets}
    fullSync: { schedule: "0 0 1 1 *" }
${extra}`;
}

const laneOf = async (f: ManifestFixture, key: string): Promise<LaneStatus | undefined> =>
  (await readWatcherStatus(f.path("state", "watches", "push")))?.targets?.find((l) => l.target === key);

describe("a watcher with two targets, one of which goes down", () => {
  test("the other replica gets every write while the daemon is down for 20 s; it catches up after; status and verify name the lagging target", async () => {
    const f = await useFixture();
    await mkdir(f.path("source"));
    await writeTree(f.path("source"), { "before.txt": "b" });
    const [sa, sb] = [sub(), sub()];
    const urlA = `${a.url("m")}/${sa}`;
    const urlB = `${b.url("m")}/${sb}`;
    const keyA = `rsync://127.0.0.1:${a.port}/m/${sa}`;
    const keyB = `rsync://127.0.0.1:${b.port}/m/${sb}`;
    await mkdir(a.path("m", sa));
    await mkdir(b.path("m", sb));
    const file = await f.writeManifest(manifest(f, `      - ${urlA}\n      - ${urlB}\n`));
    const applied = await f.run(["apply", file]);
    expect(applied.exitCode, applied.all).toBe(0);
    await waitForSameTree(f.path("source"), a.path("m", sa));
    await waitForSameTree(f.path("source"), b.path("m", sb));

    await b.stop();
    try {
      // A steady write stream for 20 s. Each write must reach replica a while b is down (polled;
      // the 8 s bound is only there to fail instead of hanging: a lane that waited for b would
      // not deliver anything until b is back).
      const stoppedAt = Date.now();
      const written: string[] = [];
      for (let i = 0; Date.now() - stoppedAt < 20_000; i++) {
        const name = `w/${String(i).padStart(4, "0")}.txt`;
        await writeTree(f.path("source"), { [name]: `write ${i}\n` });
        written.push(name);
        await waitFor(async () => (await stat(a.path("m", sa, name)).then(() => true, () => false)) || `${name} not on replica a yet`, 8000, 10);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(written.length).toBeGreaterThan(40);
      // None of it could reach b.
      await expect(readdir(b.path("m", sb, "w"))).rejects.toMatchObject({ code: "ENOENT" });

      // status names the lagging lane and how far behind it is; the watch is unhealthy (exit 3).
      await waitFor(async () => ((await laneOf(f, keyB))?.pending ?? 0) > 0 || "lane b shows nothing pending");
      // The last write is on replica a as soon as rsync wrote it; its run ends (and lane a's pending
      // drops to 0) a moment later: under load, after the status below (CI, 1 run in 9).
      await waitFor(async () => ((await laneOf(f, keyA))?.pending ?? 1) === 0 || "lane a still has its last write pending");
      const s = await f.run(["status", file]);
      expect(s.exitCode, s.all).toBe(3);
      expect(s.stdout).toContain(`watcher push: running, pid `);
      expect(s.stdout).toMatch(new RegExp(`^  behind: ${escape(urlB)} by \\d+ change\\(s\\) for \\d+s$`, "m"));
      expect(s.stdout).toMatch(new RegExp(`^  target ${escape(urlA)}: up to date$`, "m"));
      expect(s.stdout).toMatch(new RegExp(`^  target ${escape(urlB)}: BEHIND: \\d+ change\\(s\\) not on it for \\d+s \\(last success \\d+s ago\\)$`, "m"));
      expect(s.stdout).toMatch(new RegExp(`^  problem: target ${escape(urlB)}: incremental run of \\d+ path\\(s\\) failed \\(rsync exit code \\d+`, "m"));
      const json = JSON.parse((await f.run(["status", file, "--json"])).stdout) as { watchers: Array<{ health: string; targets: string[]; report: { targets: LaneStatus[] } }> };
      expect(json.watchers[0]).toMatchObject({ health: "Degraded", targets: [urlA, urlB] });
      const lanes = json.watchers[0]?.report.targets ?? [];
      expect(lanes.map((l) => [l.target, l.healthy])).toEqual([
        [keyA, true],
        [keyB, false],
      ]);
      expect(lanes[0]?.pending).toBe(0);
      expect(lanes[1]?.behindSince).not.toBeNull();

      // verify: replica a equal, replica b missing what was written; --target picks one.
      const va = await f.run(["verify", file, "--target", urlA]);
      expect(va.exitCode, va.all).toBe(0);
      const vb = await f.run(["verify", file, "--json"]);
      expect(vb.exitCode).toBe(1); // b's daemon does not answer: the comparison cannot finish
      const report = JSON.parse(vb.stdout) as VerifyReport;
      expect(report.watches.map((w) => [w.key, w.result])).toEqual([
        [keyA, "equal"],
        [keyB, "error"],
      ]);
    } finally {
      await b.start();
    }
    // Back: b catches up alone, and nothing is lost on either replica.
    await waitForSameTree(f.path("source"), b.path("m", sb), { timeoutMs: 60_000 });
    await waitForSameTree(f.path("source"), a.path("m", sa));
    await waitFor(async () => (await laneOf(f, keyB))?.healthy === true || "lane b not healthy yet", 30_000);
    const v = await f.run(["verify", file]);
    expect(v.exitCode, v.all).toBe(0);
    expect(v.stdout).toContain(`watch push: ${f.path("source")} -> ${urlB}: equal`);
    // Every record of the log names its lane; b's failed runs are b's alone.
    const runs = (await readLogRecords(f.path("state", "watches", "push"))).filter((r) => r.type === "run");
    expect(runs.filter((r) => r.outcome !== "ok").every((r) => r.target === keyB)).toBe(true);
    expect(runs.filter((r) => r.target === keyA).every((r) => r.outcome === "ok")).toBe(true);
  });
});

describe("a watcher with two targets, one of which hangs", () => {
  test("a target whose daemon is frozen (connections accepted, never answered) holds only its own lane", async () => {
    const source = await makeTempDir("rtsync-src-");
    const { spec, sa, sb } = await twoTargets(source, [], "hang");
    const engine = await startWatchEngine(spec, {});
    onTestFinished(() => engine.stop());
    await engine.ready;
    await waitFor(() => engine.idle() || `pending ${engine.pending()}`);
    b.pause();
    try {
      const frozenAt = Date.now();
      for (let i = 0; Date.now() - frozenAt < 10_000; i++) {
        const name = `h/${String(i).padStart(4, "0")}.txt`;
        await writeTree(source, { [name]: `write ${i}\n` });
        // A lane that waited for b's run (hung until b resumes) would deliver nothing meanwhile.
        await waitFor(async () => (await stat(a.path("m", sa, name)).then(() => true, () => false)) || `${name} not on replica a yet`, 8000, 10);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [laneA, laneB] = engine.lanes();
      expect(laneA).toMatchObject({ pending: 0 });
      expect(laneB?.pending).toBeGreaterThan(0);
    } finally {
      b.resume();
    }
    await waitForSameTree(source, b.path("m", sb), { timeoutMs: 60_000 });
    await waitForSameTree(source, a.path("m", sa));
  });
  test("a frozen target's run ends at rsync's I/O timeout: its lane reports a transient failure and retries, and catches up once the daemon answers", async () => {
    // rtsync passes --timeout=60 to every run (args.test.ts); this lane's own rsyncArgs make it 2 s.
    const source = await makeTempDir("rtsync-src-");
    const { spec, sa, sb } = await twoTargets(source, [{}, { rsyncArgs: ["--timeout=2"] }], "timeout");
    const keyB = spec.targets[1]?.key;
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(spec, { onEvent: (e) => events.push(e) });
    onTestFinished(() => engine.stop());
    await engine.ready;
    await waitFor(() => engine.idle() || `pending ${engine.pending()}`);
    b.pause();
    try {
      await writeTree(source, { "t/one.txt": "1\n" });
      const failedB = () => events.find((e) => e.type === "run-done" && e.target === keyB && e.run.outcome !== "ok");
      await waitFor(() => failedB() !== undefined || "lane b has not failed yet", 20_000);
      expect(failedB()).toMatchObject({ run: { kind: "incremental", exitCode: 30, outcome: "transient" } });
      expect(events.some((e) => e.type === "retry-scheduled" && e.target === keyB)).toBe(true);
      expect(engine.lanes().find((l) => l.key === keyB)?.pending).toBeGreaterThan(0);
      await waitForSameTree(source, a.path("m", sa));
    } finally {
      b.resume();
    }
    await waitForSameTree(source, b.path("m", sb), { timeoutMs: 60_000 });
  });
});

describe("per-target settings and restarts", () => {
  test("a local target beside a daemon target: its own rsyncArgs (--chmod) apply to its lane only", async () => {
    const f = await useFixture();
    await mkdir(f.path("source"));
    await writeFile(f.path("source", "initial.txt"), "i\n", { mode: 0o644 });
    const sa = sub();
    await mkdir(a.path("m", sa));
    const local = f.path("local-copy");
    const file = await f.writeManifest(manifest(f, `      - ${a.url("m")}/${sa}\n      - { url: ${local}, rsyncArgs: ["--chmod=F600"] }\n`, "    rsyncArgs: [\"--timeout=30\"]\n"));
    const applied = await f.run(["apply", file]);
    expect(applied.exitCode, applied.all).toBe(0);
    await writeFile(f.path("source", "later.txt"), "l\n", { mode: 0o644 });
    await waitForSameTree(f.path("source"), a.path("m", sa)); // modes too
    await waitFor(async () => (await contentDiff(f.path("source"), local)) || true);
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    // The full sync (initial.txt) and the incremental run (later.txt) of the local lane: 0600.
    expect([await mode(path.join(local, "initial.txt")), await mode(path.join(local, "later.txt"))]).toEqual([0o600, 0o600]);
    // The daemon lane runs with the watch's rsyncArgs: the source's 0644.
    expect([await mode(a.path("m", sa, "initial.txt")), await mode(a.path("m", sa, "later.txt"))]).toEqual([0o644, 0o644]);
    const spec = JSON.parse(await readFile(f.path("state", "watches", "push", "spec.json"), "utf8")) as WatchSpec;
    expect(spec.targets.map((t) => [t.target, t.rsyncArgs])).toEqual([
      [`${a.url("m")}/${sa}`, ["--timeout=30"]],
      [local, ["--chmod=F600"]],
    ]);
  });

  test("changing one target restarts the watcher; the lane of the other, down meanwhile, loses nothing across the restart", async () => {
    const f = await useFixture();
    await mkdir(f.path("source"));
    const [sa, sb] = [sub(), sub()];
    await mkdir(a.path("m", sa));
    await mkdir(b.path("m", sb));
    const urlA = `${a.url("m")}/${sa}`;
    const urlB = `${b.url("m")}/${sb}`;
    const file = await f.writeManifest(manifest(f, `      - ${urlA}\n      - ${urlB}\n`));
    expect((await f.run(["apply", file])).exitCode).toBe(0);
    await waitForSameTree(f.path("source"), b.path("m", sb));
    const first = (await readInventory(f.stateDir)).watchers["push"]?.pid;
    const firstStart = (await readWatcherStatus(`${f.stateDir}/watches/push`))?.startedAt;
    await b.stop();
    try {
      await writeTree(f.path("source"), { "while-b-down/1.txt": "1", "while-b-down/2.txt": "2" });
      await waitForSameTree(f.path("source"), a.path("m", sa));
      await waitFor(async () => ((await laneOf(f, `rsync://127.0.0.1:${b.port}/m/${sb}`))?.pending ?? 0) > 0 || "b has nothing pending");
      // A's settings change: the spec changes, the watcher restarts (b's pending work goes with the old one).
      await f.writeManifest(manifest(f, `      - { url: ${urlA}, rsyncArgs: ["--bwlimit=100m"] }\n      - ${urlB}\n`));
      const d = await f.run(["diff", file]);
      expect(d.stdout).toContain("~ watcher push: restart (spec changed: targets; pid");
      const again = await f.run(["apply", file]);
      expect(again.exitCode, again.all).toBe(0);
      // The job restarts inside the watch host: the host stays, the job starts anew.
      expect((await readInventory(f.stateDir)).watchers["push"]?.pid).toBe(first);
      expect((await readWatcherStatus(`${f.stateDir}/watches/push`))?.startedAt).not.toBe(firstStart);
      await writeTree(f.path("source"), { "after-restart.txt": "r" });
      await waitForSameTree(f.path("source"), a.path("m", sa));
    } finally {
      await b.start();
    }
    // The new watcher's initial full sync of b's lane (retried until b answers) brings everything.
    await waitForSameTree(f.path("source"), b.path("m", sb), { timeoutMs: 60_000 });
    await waitForSameTree(f.path("source"), a.path("m", sa));
  });
});

describe("deletion guards with two targets", () => {
  const fast = { batcher: { backoffInitialMs: 200, backoffMaxMs: 1000 }, sourceRestart: { initialMs: 100, maxMs: 500 } };

  test("a source that is unmounted halts every lane (the source is the watch's); both replicas keep their files", async () => {
    const source = await makeTempDir("rtsync-mnt-");
    await execa("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", source]);
    onTestFinished(() => execa("umount", [source], { reject: false }).then(() => undefined));
    await writeTree(source, { "a.txt": "a", "b.txt": "b" });
    const { spec, replicas } = await twoTargets(source);
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(spec, { ...fast, onEvent: (e) => events.push(e) });
    onTestFinished(() => engine.stop());
    for (const r of replicas) await waitForSameTree(source, r);
    await execa("umount", [source]);
    await waitFor(() => engine.halted() || `lanes: ${JSON.stringify(engine.lanes())}`, 60_000);
    const halts = events.filter((e): e is Extract<EngineEvent, { type: "halted" }> => e.type === "halted");
    expect(halts.map((h) => [h.target, h.reason]).sort()).toEqual(spec.targets.map((t) => [t.key, "source-changed"]).sort());
    for (const r of replicas) expect((await readdir(r)).sort()).toEqual(["a.txt", "b.txt"]);
  });

  test("one lane's full sync that finds the source unmounted halts the other lanes too, before their own full sync", async () => {
    const source = await makeTempDir("rtsync-mnt-");
    await execa("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", source]);
    onTestFinished(() => execa("umount", [source], { reject: false }).then(() => undefined));
    await writeTree(source, { "a.txt": "a" });
    // Only a's lane has a schedule; b's would never run a full sync of its own.
    const { spec } = await twoTargets(source, [{ fullSyncSchedule: "*/2 * * * * *" }, {}]);
    // A source that watches nothing and never fails: the unmount reaches the engine only through
    // a's scheduled full sync (with a real source it would also restart the source and full-sync
    // every lane).
    const quiet: EventSource = { kind: "inotify", subscribe: () => ({ ready: Promise.resolve({ watches: 1 }), close: async () => undefined }) };
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine({ ...spec, initialSync: false }, { ...fast, eventSource: quiet, onEvent: (e) => events.push(e) });
    onTestFinished(() => engine.stop());
    await engine.ready;
    await execa("umount", [source]);
    await waitFor(() => engine.halted() || `lanes: ${JSON.stringify(engine.lanes())}`, 30_000);
    const halts = events.filter((e): e is Extract<EngineEvent, { type: "halted" }> => e.type === "halted");
    expect(halts.map((h) => [h.target, h.reason]).sort()).toEqual(spec.targets.map((t) => [t.key, "source-changed"]).sort());
    // No rsync ran on b's lane at all.
    expect(events.filter((e) => e.type === "run-start" && e.target === spec.targets[1]?.key)).toEqual([]);
  });

  test("maxDelete is each target's own: the lane that hits it halts, the other deletes what it must and keeps replicating", async () => {
    const source = await makeTempDir("rtsync-src-");
    await writeTree(source, { "a.txt": "a" });
    const { spec, replicas } = await twoTargets(source, [{ maxDelete: 2, fullSyncSchedule: "*/2 * * * * *" }, { fullSyncSchedule: "*/2 * * * * *" }]);
    const [ra = "", rb = ""] = replicas;
    const stray = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`stray${i}.txt`, `stray ${i}\n`]));
    await Promise.all(replicas.map((r) => writeTree(r, stray)));
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(spec, { ...fast, onEvent: (e) => events.push(e) });
    onTestFinished(() => engine.stop());
    const [keyA, keyB] = spec.targets.map((t) => t.key);
    await waitFor(() => engine.lanes().find((l) => l.key === keyA)?.halted === true || "lane a not halted yet", 30_000);
    expect(engine.halted()).toBe(false);
    expect(events.filter((e) => e.type === "halted").map((e) => (e.type === "halted" ? [e.target, e.reason] : []))).toEqual([[keyA, "max-delete"]]);
    expect((await readdir(ra)).filter((n) => n.startsWith("stray"))).toHaveLength(3);
    // b deleted its strays (no limit there) and goes on replicating; a gets nothing any more.
    await waitForSameTree(source, rb);
    await writeFile(path.join(source, "after.txt"), "after\n");
    await waitForSameTree(source, rb);
    expect(engine.lanes().find((l) => l.key === keyB)).toMatchObject({ halted: false });
    await expect(stat(path.join(ra, "after.txt"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
