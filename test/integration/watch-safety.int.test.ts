import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import type { EngineEvent } from "../../src/watch/engine/events.ts";
import { startWatchEngine } from "../../src/watch/engine/engine.ts";
import { buildExcludeMatcher } from "../../src/watch/batching/exclude-match.ts";
import { readSourceRoot } from "../../src/watch/guard/source-root.ts";
import { replicaPath, startHarness } from "../fixtures/watch-harness.ts";
import { startWatcherProcess } from "../fixtures/watcher-process.ts";
import { processRunning } from "../helpers/probes.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempDir, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// Issue 12, the watcher's half: nothing lost (given-up paths are repaired soon, not at the next
// hourly full sync; no child outlives its watcher) and nothing wiped (a full sync from a source
// that looks unmounted or emptied halts instead of deleting; maxDelete caps a full sync).

const SLOW_RSYNC = fileURLToPath(new URL("../fixtures/slow-rsync.sh", import.meta.url));
const SWAP_RSYNC = fileURLToPath(new URL("../fixtures/swap-then-rsync.sh", import.meta.url));
const fast = { batcher: { backoffInitialMs: 200, backoffMaxMs: 1000 }, sourceRestart: { initialMs: 100, maxMs: 500 } };
const NOBODY = 65534;

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

const files = (n: number, prefix = "f"): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}.txt`, `${prefix} ${i}\n`]));

function halted(events: readonly EngineEvent[]): Extract<EngineEvent, { type: "halted" }> | undefined {
  return events.find((e): e is Extract<EngineEvent, { type: "halted" }> => e.type === "halted");
}

describe("nothing lost", () => {
  test("a replica directory that was not writable for a while gets its files by a repair full sync, not the hourly one", async () => {
    // The daemon transfers as nobody, so a directory given to root is closed to it (root would write anywhere).
    const asNobody = await startRsyncDaemon({ modules: ["ro"], uid: NOBODY, gid: NOBODY });
    onTestFinished(() => asNobody.dispose());
    const h = await startHarness({
      daemon: asNobody,
      module: "ro",
      watcher: "inotifywait",
      spec: { fullSyncSchedule: "0 0 1 1 *" }, // once a year: only the repair can bring the files
      engine: fast,
      setup: (src) => writeTree(src, { "locked/keep.txt": "k" }),
    });
    const locked = replicaPath(h, "locked");
    await chown(locked, 0, 0);
    await chmod(locked, 0o755);
    await writeTree(path.join(h.source, "locked"), files(10));
    await waitFor(() => h.events.some((e) => e.type === "repair-scheduled") || "nothing given up yet", 60_000);
    const gaveUp = h.events.find((e) => e.type === "gave-up");
    expect(gaveUp).toMatchObject({ type: "gave-up", kind: "incremental", outcome: "partial" });
    expect(gaveUp?.type === "gave-up" && gaveUp.reasons).toContain("Permission denied (13) on the target");
    expect(gaveUp?.type === "gave-up" && gaveUp.sample).toContain("locked/f0.txt");
    const repair = h.events.find((e) => e.type === "repair-scheduled");
    expect(repair?.type === "repair-scheduled" && Math.round((repair.repairAt - repair.at) / 1000)).toBe(30);
    // Given up, but not on the target: still pending.
    expect(h.engine.pending()).toBeGreaterThanOrEqual(10);

    await chown(locked, NOBODY, NOBODY); // writable again
    // (Owners differ: the daemon transfers as nobody. Names and contents must match.)
    await waitFor(async () => {
      const missing = [];
      for (const [name, content] of Object.entries(files(10))) {
        if ((await readFile(path.join(locked, name), "utf8").catch(() => "")) !== content) missing.push(name);
      }
      return missing.length === 0 || `not on the replica yet: ${missing.join(", ")}`;
    }, 90_000);
    expect(h.runs("full").map((r) => r.reason)).toEqual(["initial sync", "repair"]);
    await waitFor(() => h.engine.pending() === 0 || `pending ${h.engine.pending()}`);
  });

  test("a SIGKILLed watcher leaves no child behind: neither its inotifywait nor the full sync in flight", async () => {
    const source = await makeTempDir("rtsync-src-");
    await writeTree(source, files(3));
    // The initial full sync hangs (the stand-in sleeps), so an rsync is in flight when the watcher dies.
    const w = await startWatcherProcess({ source, target: `${daemon.url("m")}/killed`, daemonTarget: true, rsync: SLOW_RSYNC });
    const children = async (): Promise<number[]> => {
      const tasks = await readdir(`/proc/${w.pid}/task`).catch(() => [] as string[]);
      const pids: number[] = [];
      for (const t of tasks) pids.push(...(await readFile(`/proc/${w.pid}/task/${t}/children`, "utf8").catch(() => "")).split(" ").filter(Boolean).map(Number));
      return pids;
    };
    let kids: number[] = [];
    let argv: string[] = [];
    // The stand-in is `sh` until it has read its input and exec'd sleep: wait for both programs.
    await waitFor(async () => {
      kids = await children();
      argv = await Promise.all(kids.map((pid) => readFile(`/proc/${pid}/cmdline`, "utf8").then((t) => t.split("\0")[0] ?? "", () => "")));
      return (argv.some((a) => a.endsWith("inotifywait")) && argv.some((a) => a.endsWith("sleep"))) || `children: ${argv.join(", ")}`;
    });
    expect(argv.some((a) => a.endsWith("inotifywait"))).toBe(true);
    expect(argv.some((a) => a.endsWith("sleep"))).toBe(true); // the stand-in rsync
    process.kill(w.pid, "SIGKILL");
    await waitFor(async () => {
      const alive = [];
      for (const pid of kids) if (await processRunning(pid)) alive.push(pid);
      return alive.length === 0 || `still running after the watcher was killed: ${alive.join(", ")}`;
    }, 20_000);
  });
});

describe("nothing wiped", () => {
  test("rsync reads the source root the identity gate checked, not the path: a root replaced between the check and rsync's start is not mirrored", async () => {
    const other = await makeTempDir("rtsync-other-");
    await writeTree(other, { "other.txt": "not the job's\n" });
    let swapped = "";
    const h = await startHarness({
      daemon,
      module: "m",
      watcher: "inotify",
      spec: { rsync: SWAP_RSYNC, fullSyncSchedule: "0 0 1 1 *" },
      setup: async (src) => {
        await writeTree(src, files(5, "real"));
        swapped = src;
        process.env["SWAP_SOURCE"] = src;
        process.env["SWAP_OTHER"] = other;
      },
    });
    onTestFinished(async () => {
      delete process.env["SWAP_SOURCE"];
      delete process.env["SWAP_OTHER"];
      await rm(swapped, { force: true });
      await rm(`${swapped}.real`, { recursive: true, force: true });
    });
    await waitFor(() => h.events.some((e) => e.type === "run-done" && e.run.kind === "full") || "no full sync done yet", 30_000);
    expect(h.events.find((e) => e.type === "run-done" && e.run.kind === "full")).toMatchObject({ run: { outcome: "ok" } });
    // The initial sync ran after the swap: it read the pinned original, not the symlink's target.
    expect((await readdir(h.replica)).sort()).toEqual(Object.keys(files(5, "real")).sort());
  });

  test("a source on a tmpfs that is unmounted: the full sync halts, the replica keeps its files, status says why", async () => {
    const source = await makeTempDir("rtsync-mnt-");
    await execa("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", source]);
    onTestFinished(() => execa("umount", [source], { reject: false }).then(() => undefined));
    await writeTree(source, files(10));
    const replica = daemon.path("m", "unmounted");
    const w = await startWatcherProcess({ source, target: `${daemon.url("m")}/unmounted`, daemonTarget: true });
    await waitFor(async () => (await w.status())?.initialSync.state === "done" || "initial sync not done");
    await waitForSameTree(source, replica);

    await execa("umount", [source]);
    await waitFor(async () => (await w.status())?.state === "halted" || `state ${(await w.status())?.state}`, 60_000);
    const status = await w.status();
    expect(status?.halted).toMatchObject({ reason: "source-changed" });
    // The identity gate (issue 18) sees it first: the mount that held the source is gone.
    expect(status?.halted?.message).toMatch(
      new RegExp(`^source replaced or gone: the mount that held ${source} is gone \\(was mount \\d+ root / at ${source}, tmpfs; now mount \\d+ root \\S+ at \\S+\\); nothing deleted on the target; `),
    );
    expect(status).toMatchObject({ healthy: false, nextFullSync: null, lastError: { message: status?.halted?.message } });
    expect((await readdir(replica)).sort()).toEqual(Object.keys(files(10)).sort());
    expect((await w.log()).filter((r) => r.type === "halted")).toMatchObject([{ type: "halted", reason: "source-changed" }]);
  });

  test("a source emptied by hand while the watcher was down: the next start halts instead of emptying the replica", async () => {
    const h = await startHarness({ daemon, module: "m", watcher: "inotifywait", engine: fast, setup: (src) => writeTree(src, { ...files(10), "sub/x.txt": "x" }) });
    await waitForSameTree(h.source, h.replica);
    await h.engine.stop();
    for (const name of await readdir(h.source)) await rm(path.join(h.source, name), { recursive: true });

    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(h.spec, { ...fast, onEvent: (e) => events.push(e) });
    onTestFinished(() => engine.stop());
    await waitFor(() => engine.halted() || "not halted yet");
    expect(halted(events)).toMatchObject({
      reason: "source-emptied",
      message: `source looks unmounted or emptied: ${h.source}: it is empty and the target is not; nothing deleted on the target; fix the source, then \`rtsync apply\` or restart the watcher`,
    });
    expect(events.filter((e) => e.type === "run-start")).toEqual([]); // no rsync with --delete ran
    expect((await readdir(h.replica)).length).toBe(11);
    // Halted means halted: a new file is not sent either.
    await writeFile(path.join(h.source, "new.txt"), "n");
    await waitFor(() => engine.pending() > 0 || "the new file is not counted");
    expect(events.filter((e) => e.type === "run-start")).toEqual([]);
  });

  test("an empty source with an empty target is no reason to halt (a drained spool)", async () => {
    const h = await startHarness({ daemon, module: "m", watcher: "inotifywait", engine: fast, setup: (src) => writeTree(src, { "a.txt": "a" }) });
    await waitForSameTree(h.source, h.replica);
    await rm(path.join(h.source, "a.txt")); // replicated as a deletion: both ends are empty now
    await waitForSameTree(h.source, h.replica);
    await h.engine.stop();
    const events: EngineEvent[] = [];
    const engine = await startWatchEngine(h.spec, { ...fast, onEvent: (e) => events.push(e) });
    onTestFinished(() => engine.stop());
    await waitFor(() => events.some((e) => e.type === "run-done") || "no full sync yet");
    expect(events.find((e) => e.type === "run-done")).toMatchObject({ run: { kind: "full", outcome: "ok" } });
    expect(engine.halted()).toBe(false);
  });

  test("maxDelete caps a full sync's deletions, and the job halts so the next one does not delete as many again", async () => {
    const h = await startHarness({
      daemon,
      module: "m",
      watcher: "inotifywait",
      engine: fast,
      spec: { maxDelete: 2, fullSyncSchedule: "*/2 * * * * *" },
      setup: (src) => writeTree(src, { "a.txt": "a" }),
    });
    await writeTree(h.replica, files(5, "stray"));
    await waitFor(() => h.engine.halted() || `not halted yet: ${JSON.stringify(h.events.filter((e) => e.type === "run-done"))}`, 30_000);
    const done = h.events.find((e) => e.type === "run-done" && e.run.reason === "schedule");
    // Pushing to a daemon, rsync exits 0 here: the receiver stopped deleting, only its message says so.
    expect(done).toMatchObject({ run: { kind: "full", outcome: "max-delete", deleted: 2 } });
    expect(halted(h.events)).toMatchObject({
      reason: "max-delete",
      message:
        "a full sync would delete more files on the target than maxDelete (2) allows: rsync deleted 2 and skipped 3 more; " +
        "halted so that no further full sync deletes more; check the source (`rtsync verify` lists what differs), then fix it, " +
        "or raise maxDelete if the deletions are wanted, and run `rtsync apply`",
    });
    expect((await readdir(h.replica)).filter((n) => n.startsWith("stray"))).toHaveLength(3);
    const fullSyncs = h.runs("full").length;
    await new Promise((r) => setTimeout(r, 4500)); // two more scheduled fire times pass
    expect(h.runs("full")).toHaveLength(fullSyncs);
  });
});

test("the guard's view of a root: lost+found and excluded names hold nothing; a bind mount on the same device is a mount point", async () => {
  const root = await makeTempDir("rtsync-root-");
  const excluded = buildExcludeMatcher(["*.tmp", ".cache/"]);
  await mkdir(path.join(root, "lost+found"));
  await mkdir(path.join(root, ".cache"));
  await writeFile(path.join(root, "x.tmp"), "scratch");
  expect(await readSourceRoot(root, excluded)).toMatchObject({ exists: true, directory: true, mountPoint: false, empty: true });
  await writeFile(path.join(root, "data.txt"), "d");
  expect(await readSourceRoot(root, excluded)).toMatchObject({ empty: false });

  const target = await makeTempDir("rtsync-bind-");
  await execa("mount", ["--bind", root, target]);
  onTestFinished(() => execa("umount", [target], { reject: false }).then(() => undefined));
  const bound = await readSourceRoot(target, excluded);
  const plain = await readSourceRoot(root, excluded);
  expect(bound.exists && plain.exists && bound.dev === plain.dev).toBe(true); // st_dev alone cannot tell
  expect(bound).toMatchObject({ mountPoint: true, empty: false });
  expect(await readSourceRoot(path.join(root, "nope"), excluded)).toEqual({ exists: false, why: "no such file or directory" });
});
