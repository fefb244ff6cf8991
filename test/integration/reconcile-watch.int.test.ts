import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { cmdlineOf, processRunning, readInventory } from "../helpers/probes.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";

// Watchers under the reconciler, through the real CLI: apply starts a detached watcher that
// outlives it and pushes to the daemon apply started; a killed watcher is drift and what was
// written meanwhile arrives after apply; an unchanged spec is left running, a changed one is
// restarted naming the keys; status reports it; a removed watch is stopped. In order, on one
// applied manifest.

const PW = "pw-WATCH-SECRET-77";

function manifest(f: ManifestFixture, port: number, watch: string): string {
  // Transfers as root (chrooted) so owners and groups replicate and the trees compare equal.
  return loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", rest: watch });
}

function watchBlock(f: ManifestFixture, port: number, exclude = '["*.tmp"]'): string {
  return `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    exclude: ${exclude}
    fullSync: { schedule: "0 0 1 1 *" }
`;
}

async function watcherPid(f: ManifestFixture): Promise<number | undefined> {
  return (await readInventory(f.stateDir)).watchers["push"]?.pid;
}

describe("watchers under the reconciler", () => {
  let f: ManifestFixture;
  let file: string;
  let port: number;
  const src = () => f.path("source");
  const replica = () => f.path("replica");

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    await mkdir(src(), { recursive: true });
    await writeFile(f.path("source", "existing.txt"), "was there before\n");
    file = await f.writeManifest(manifest(f, port, watchBlock(f, port)));
  });
  afterAll(async () => {
    await f.dispose();
  });

  test("diff shows the watcher to start; apply starts it and the existing tree arrives", async () => {
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain(`+ watcher push: start watching ${src()} -> rsync://demo@127.0.0.1:${port}/data`);
    expect(d.stdout).toContain(`+ file ${f.stateDir}/watches/push/password: create, mode 0600 (password file of watch push)`);

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.stdout).toContain("7 changed, 0 unchanged, 0 failed");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
    expect((await f.run(["diff", file])).exitCode).toBe(0);
  });

  test("the watcher outlives apply and pushes changes; excluded files stay behind", async () => {
    await mkdir(f.path("source", "a", "b"), { recursive: true });
    await writeFile(f.path("source", "a", "b", "new.txt"), "new\n");
    await writeFile(f.path("source", "scratch.tmp"), "not sent\n");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
    await expect(readFile(f.path("replica", "scratch.tmp"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("the password reaches the watcher only through its 0600 password file", async () => {
    const pid = await watcherPid(f);
    expect(pid).toBeDefined();
    const cmdline = await cmdlineOf(pid ?? 0);
    expect(cmdline?.join(" ")).not.toContain(PW);
    // The memory-lean V8 flags of the long-running watcher (src/resources/watcher.ts).
    expect(cmdline?.slice(1, 4)).toEqual(["--lite-mode", "--no-expose-wasm", "--max-semi-space-size=1"]);
    expect(await readFile(f.path("state", "watches", "push", "spec.json"), "utf8")).not.toContain(PW);
    expect(await readFile(f.path("state", "watches", "push", "password"), "utf8")).toBe(`${PW}\n`);
  });

  test("status reports a healthy watcher (exit 0) with its last sync", async () => {
    const s = await f.run(["status", file]);
    expect(s.exitCode, s.all).toBe(0);
    expect(s.stdout).toMatch(/^watcher push: running, pid \d+ {2}/m);
    expect(s.stdout).toMatch(/^ {2}last sync: \d+s ago, ok/m);
    const j = JSON.parse((await f.run(["status", file, "--json"])).stdout) as { healthy: boolean; watchers: Array<{ name: string; running: boolean; report: { pending: number } }> };
    expect(j).toMatchObject({ healthy: true, watchers: [{ name: "push", running: true, report: { pending: 0 } }] });
  });

  test("an unchanged spec does not restart the watcher", async () => {
    const before = await watcherPid(f);
    const a = await f.run(["apply", file]);
    expect(a.exitCode).toBe(0);
    expect(a.stdout).toContain("0 changed, 7 unchanged, 0 failed");
    expect(await watcherPid(f)).toBe(before);
  });

  test("a watcher killed with SIGKILL is drift; after apply everything written meanwhile arrives", async () => {
    const pid = await watcherPid(f);
    if (pid === undefined) throw new Error("no watcher pid");
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && (await processRunning(pid)); i++) await new Promise((r) => setTimeout(r, 20));
    await writeFile(f.path("source", "while-down.txt"), "written while the watcher was dead\n");
    await mkdir(f.path("source", "down-dir"), { recursive: true });
    await writeFile(f.path("source", "down-dir", "x.txt"), "x\n");

    const s = await f.run(["status", file]);
    expect(s.exitCode).toBe(3);
    expect(s.stdout).toContain("watcher push: NOT RUNNING");
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain(`+ watcher push: start watching ${src()} -> rsync://demo@127.0.0.1:${port}/data (not running: pid ${pid} is gone)`);

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
  });

  test("a spec change restarts the watcher and says which keys changed", async () => {
    const before = await watcherPid(f);
    await writeFile(file, manifest(f, port, watchBlock(f, port, '["*.tmp", "*.swp"]')));
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain(`~ watcher push: restart (spec changed: exclude; pid ${before})`);
    const startedBefore = (await readWatcherStatus(`${f.stateDir}/watches/push`))?.startedAt;
    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    // Only the job restarts, inside the watch host: the host's pid stays, the job's start is new.
    expect(await watcherPid(f)).toBe(before);
    expect(await processRunning(before ?? 0)).toBe(true);
    const restarted = await readWatcherStatus(`${f.stateDir}/watches/push`);
    expect(restarted?.startedAt).not.toBe(startedBefore);
    expect(restarted?.specHash).not.toBe(undefined);
    await writeFile(f.path("source", "after-restart.txt"), "y\n");
    await writeFile(f.path("source", "x.swp"), "no\n");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp", "*.swp"] });
  });

  test("a watch removed from the manifest is stopped; the daemon stays", async () => {
    const pid = await watcherPid(f);
    await writeFile(file, manifest(f, port, ""));
    const d = await f.run(["diff", file]);
    expect(d.stdout).toContain(`- watcher push: stop pid ${pid} (declared by ${file}; no longer in the manifest for node`);
    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(await processRunning(pid ?? 0)).toBe(false);
    expect((await readInventory(f.stateDir)).watchers).toEqual({});
    expect(Object.keys((await readInventory(f.stateDir)).daemons)).toEqual(["d1"]);
  });

  test("rtsync down stops watchers and daemons", async () => {
    await writeFile(file, manifest(f, port, watchBlock(f, port)));
    expect((await f.run(["apply", file])).exitCode).toBe(0);
    const pid = await watcherPid(f);
    const down = await f.run(["down", file]);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain(`- watcher push: stopped pid ${pid}`);
    expect(down.stdout).toMatch(/- daemon d1: stopped pid \d+/);
    expect(await processRunning(pid ?? 0)).toBe(false);
  });
});
