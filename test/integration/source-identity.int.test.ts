import { mkdir, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { stateLayout } from "../../src/state/layout.ts";
import type { EventSource, SourceHandlers } from "../../src/watch/sources/source.ts";
import { bytePathFromText } from "../../src/watch/byte-path.ts";
import { startHarness } from "../fixtures/watch-harness.ts";
import { startRsyncDaemon } from "../helpers/rsync-daemon.ts";
import { readLogRecords } from "../../src/state/watch-log.ts";
import { readWatcherStatus, type WatcherStatusDoc } from "../../src/state/watcher-status.ts";
import { useAgentProcess, waitForHealth } from "../helpers/agent.ts";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning } from "../helpers/probes.ts";
import { makeTempDir, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// Issue 18, "a source is the same source or it halts": the two wipes of the fault run, through the
// real agent, watcher, rsync daemon and a real bind mount / symlink swap. Each asserts that nothing
// is deleted on the replica, what the halt says, that /healthz leaves 200 while halted, and that
// the job resumes by itself (with a full sync) once the fault is undone. A full sync is scheduled
// every 2 s, so "the next full sync" of the repro comes many times while the job is halted.

const PW = "pw-IDENTITY-SECRET-18";
const REAL = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`real${i}.txt`, `real ${i}\n`]));
const OTHER = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`other${i}.txt`, `other ${i}\n`]));

function manifest(f: ManifestFixture, port: number): string {
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n    fullSync: { schedule: "*/2 * * * * *" }\n`;
  return loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", rest: watch });
}

interface Setup {
  readonly f: ManifestFixture;
  readonly file: string;
  readonly watchDir: string;
  status(): Promise<WatcherStatusDoc | undefined>;
}

// A node running watch `push` of 50 files (agent included), replicated; `other` holds 5 other files.
async function replicated(withAgent: boolean): Promise<Setup & { readonly agent?: Awaited<ReturnType<typeof useAgentProcess>> }> {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  await mkdir(f.path("source"), { recursive: true });
  await writeTree(f.path("source"), REAL);
  await writeTree(f.path("other"), OTHER);
  // A free port can be taken by another process before the daemon binds it: another port then.
  let file = "";
  let applied = { exitCode: -1, stdout: "" };
  for (let attempt = 0; attempt < 3 && applied.exitCode !== 0; attempt++) {
    file = await f.writeManifest(manifest(f, await freePort()));
    applied = await f.run(["apply", file]);
  }
  expect(applied.stdout).toContain("0 failed");
  const watchDir = stateLayout.watchDir(f.stateDir, "push");
  let agent;
  if (withAgent) {
    agent = await useAgentProcess([file], { DEMO_PW: PW });
    await f.adopt(file);
    await waitForHealth(agent, 200);
  }
  await waitForSameTree(f.path("source"), f.path("replica"));
  return { f, file, watchDir, status: () => readWatcherStatus(watchDir).catch(() => undefined), ...(agent === undefined ? {} : { agent }) };
}

const replicaNames = async (f: ManifestFixture): Promise<string[]> => (await readdir(f.path("replica"))).sort();
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

// waitForHealth, and on failure the watcher's status and log too (what the halt or resume did).
async function healthOrExplain(s: Setup, agent: Awaited<ReturnType<typeof useAgentProcess>>, status: 200 | 503): Promise<void> {
  try {
    await waitForHealth(agent, status);
  } catch (error) {
    const log = await readLogRecords(s.watchDir).catch(() => []);
    throw new Error(`${String(error)}\nwatcher status: ${JSON.stringify(await s.status())}\nlog:\n${log.map((r) => JSON.stringify(r)).join("\n")}`);
  }
}

async function haltedStatus(s: Setup): Promise<WatcherStatusDoc> {
  let last: WatcherStatusDoc | undefined;
  await waitFor(async () => {
    last = await s.status();
    return last?.state === "halted" || `watcher state ${last?.state ?? "none"}`;
  }, 30_000);
  if (last === undefined) throw new Error("no status");
  return last;
}

// Breaks if the identity gate is gone (main: 200 Healthy throughout, the next full sync deleted the
// 50 real files), if it compares with stat or without the mount, or if a halt does not resume.
test("mount --bind other src: halted with what changed, nothing deleted, /healthz 503; after umount it resumes by itself", async () => {
  const s = await replicated(true);
  const { f, agent } = s;
  if (agent === undefined) throw new Error("no agent");
  const source = f.path("source");
  await execa("mount", ["--bind", f.path("other"), source]);
  let mounted = true;
  onTestFinished(async () => {
    if (mounted) await execa("umount", [source], { reject: false });
  });
  try {
    const health = await waitForHealth(agent, 503);
    const status = await haltedStatus(s);
    expect(status.halted?.reason).toBe("source-changed");
    expect(status.halted?.message).toMatch(
      new RegExp(`^source replaced or gone: a different mount now holds ${source} \\(mount \\d+ root \\S*/other at ${source}, was mount \\d+ root / at \\S+\\); nothing deleted on the target; every target of watch push halts until the original source is back`),
    );
    expect(JSON.stringify(health)).toContain("a different mount now holds");
    await settle(5000); // two scheduled full syncs at least
    expect(await replicaNames(f)).toEqual(Object.keys(REAL).sort());
    expect((await agent.get("/healthz")).status).toBe(503);
  } finally {
    await execa("umount", [source]);
    mounted = false;
  }
  await healthOrExplain(s, agent, 200);
  await waitFor(async () => (await s.status())?.state === "watching" || "not watching again");
  await writeFile(f.path("source", "after.txt"), "after the umount\n");
  await waitForSameTree(source, f.path("replica"));
  const log = await readLogRecords(s.watchDir);
  expect(log.filter((r) => r.type === "resumed")).toMatchObject([{ type: "resumed", message: "source back" }]);
  // While halted no rsync ran: the only runs between the halt and the resume are none.
  const halt = log.findIndex((r) => r.type === "halted");
  const resume = log.findIndex((r) => r.type === "resumed");
  expect(log.slice(halt, resume).filter((r) => r.type === "run")).toEqual([]);
  expect(log.slice(resume).find((r) => r.type === "run")).toMatchObject({ kind: "full", reason: "source back", outcome: "ok", deleted: 0 });
});

// Breaks if the gate uses stat (a symlink to a directory passes: the message names a directory),
// or if it never resumes.
test("mv src src.real; ln -s other src: halted with what changed, nothing deleted, /healthz 503; undone, it resumes by itself", async () => {
  const s = await replicated(true);
  const { f, agent } = s;
  if (agent === undefined) throw new Error("no agent");
  const source = f.path("source");
  await rename(source, f.path("source.real"));
  await symlink(f.path("other"), source);
  onTestFinished(async () => {
    await rm(f.path("source.real"), { recursive: true, force: true });
  });
  await waitForHealth(agent, 503);
  const status = await haltedStatus(s);
  expect(status.halted?.reason).toBe("source-changed");
  expect(status.halted?.message).toMatch(
    new RegExp(`^source replaced or gone: the source root ${source} is now a symlink to ${f.path("other")} \\(was directory dev \\d+:\\d+ ino \\d+\\); nothing deleted on the target; `),
  );

  await settle(5000); // two scheduled full syncs at least
  expect(await replicaNames(f)).toEqual(Object.keys(REAL).sort());
  expect((await agent.get("/healthz")).status).toBe(503);

  await rm(source);
  await rename(f.path("source.real"), source);
  await healthOrExplain(s, agent, 200);
  await writeFile(f.path("source", "after.txt"), "after the swap back\n");
  await waitForSameTree(source, f.path("replica"));
  expect(await replicaNames(f)).not.toContain("other0.txt");
});

// Breaks if the identity is not persisted: the restarted watcher would record the symlink as its
// source and its initial sync would mirror `other` (deleting the 50 real files on the replica).
test("a watcher restarted while the source is swapped compares with the identity recorded at the job's first start: still halted, nothing deleted", async () => {
  const s = await replicated(false);
  const { f, file } = s;
  const source = f.path("source");
  await rename(source, f.path("source.real"));
  await symlink(f.path("other"), source);
  onTestFinished(async () => {
    await rm(f.path("source.real"), { recursive: true, force: true });
  });
  const first = (await haltedStatus(s)).pid;
  process.kill(first, "SIGKILL");
  await waitFor(async () => !(await processRunning(first)) || "the watcher still runs");
  // apply starts it again; the new watcher compares the root with the record before it watches
  // anything, and halts at once saying what changed (not a source that fails and keeps retrying).
  const again = await f.run(["apply", file]);
  expect(again.exitCode, again.all).toBe(0);
  await waitFor(async () => {
    const now = await s.status();
    return (now !== undefined && now.pid !== first && now.state === "halted") || `restarted watcher: pid ${now?.pid ?? "none"} state ${now?.state ?? "none"}`;
  }, 30_000);
  expect((await s.status())?.halted).toMatchObject({ reason: "source-changed", message: expect.stringMatching(/^source replaced or gone: the source root \S+ is now a symlink to /) });
  await settle(5000);
  expect(await replicaNames(f)).toEqual(Object.keys(REAL).sort());

  await rm(source);
  await rename(f.path("source.real"), source);
  await waitFor(async () => (await s.status())?.state === "watching" || `state ${(await s.status())?.state ?? "none"}`, 30_000);
  await writeFile(f.path("source", "after.txt"), "after the swap back\n");
  await waitForSameTree(source, f.path("replica"));
});

// Breaks if --accept-source does not re-record the identity (the job would stay halted), or if apply
// restarts a watcher halted because its source changed while the record stands (diff shows drift).
test("a new source on purpose: `rtsync apply --accept-source push` records it and the job replicates it", async () => {
  const s = await replicated(false);
  const { f, file } = s;
  const source = f.path("source");
  await rename(source, f.path("source.old"));
  await mkdir(source);
  await writeTree(source, OTHER);
  const status = await haltedStatus(s);
  expect(status.halted?.message).toMatch(/^source replaced or gone: the source root \S+ is now directory dev \d+:\d+ ino \d+ \(was directory dev \d+:\d+ ino \d+\)/);
  expect(await replicaNames(f)).toEqual(Object.keys(REAL).sort());
  expect((await f.run(["diff", file])).exitCode).toBe(0); // nothing for apply to do while the record stands

  const wrong = await f.run(["apply", file, "--accept-source", "nope"]);
  expect(wrong.exitCode).toBe(1);
  expect(wrong.stderr).toContain("no watch nope runs on node");
  expect((await s.status())?.state).toBe("halted");

  const accepted = await f.run(["apply", file, "--accept-source", "push"]);
  expect(accepted.exitCode).toBe(0);
  await waitFor(async () => (await s.status())?.state === "watching" || `state ${(await s.status())?.state ?? "none"}`, 30_000);
  await waitForSameTree(source, f.path("replica"));
  expect((await f.run(["status", file])).exitCode).toBe(0);
});

// Breaks if only full syncs pass the identity gate: an incremental run of a path that exists only
// in the foreign tree would copy it to the replica (and one of a path missing there would delete).
test("an incremental run passes the gate too: a change reported while another tree is bound over the source sends nothing", async () => {
  const daemon = await startRsyncDaemon({ modules: ["m"] });
  onTestFinished(() => daemon.dispose());
  let handlers: SourceHandlers | undefined;
  // Events are pushed by hand: inotify would not see the bound tree at all.
  const manual: EventSource = {
    kind: "inotify",
    subscribe: (h) => {
      handlers = h;
      return { ready: Promise.resolve({ watches: 1 }), close: async () => undefined };
    },
  };
  const h = await startHarness({ daemon, module: "m", watcher: "inotify", eventSource: () => manual, spec: { fullSyncSchedule: "0 0 1 1 *" }, setup: (src) => writeTree(src, REAL) });
  await waitForSameTree(h.source, h.replica);
  const other = await makeTempDir("rtsync-other-");
  await writeTree(other, OTHER);
  await execa("mount", ["--bind", other, h.source]);
  onTestFinished(async () => {
    await execa("umount", [h.source], { reject: false });
  });
  handlers?.onEvents([
    { type: "create", path: bytePathFromText("other0.txt"), isDir: false },
    { type: "delete", path: bytePathFromText("real0.txt"), isDir: false },
  ]);
  await waitFor(() => h.engine.halted() || `lanes ${JSON.stringify(h.engine.lanes())}`);
  const runs = h.events.filter((e) => e.type === "run-start");
  expect(runs.map((e) => e.type === "run-start" && e.kind)).toEqual(["full"]); // the initial sync only
  expect(h.events.find((e) => e.type === "halted")).toMatchObject({ reason: "source-changed", message: expect.stringContaining(`a different mount now holds ${h.source}`) });
  expect((await readdir(h.replica)).sort()).toEqual(Object.keys(REAL).sort());

  // Unbound, the recorded root is back: the held changes go out after the full sync that resumes.
  await execa("umount", [h.source]);
  await waitFor(() => h.events.some((e) => e.type === "resumed") || "not resumed");
  await waitFor(() => (h.engine.idle() && !h.engine.halted()) || `lanes ${JSON.stringify(h.engine.lanes())}`);
  await waitForSameTree(h.source, h.replica);
});
