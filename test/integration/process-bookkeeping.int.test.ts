import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { readProcessInfo } from "../../src/resources/process/identity.ts";
import { readMarkedProcesses } from "../../src/resources/process/markers.ts";
import { systemHost } from "../../src/resources/host.ts";
import { writeInventory } from "../../src/state/inventory.ts";
import { BIN, REPO } from "../helpers/cli.ts";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, readInventory, stopPid } from "../helpers/probes.ts";
import { waitFor, waitForSameTree } from "../helpers/temp-tree.ts";

// Who owns what rtsync started, and that no sequence of crashes leaves a process rtsync started
// but no longer knows (issues 11 and 12): ownership by the manifest's identity, not its path;
// processes found again by the marker in their environment; a corrupt or lost inventory rebuilt.

const PW = "pw-BOOKKEEPING-SECRET-44";

function withWatch(f: ManifestFixture, port: number, name?: string): string {
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n    fullSync: { schedule: "0 0 1 1 *" }\n`;
  const text = loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", rest: watch });
  return name === undefined ? text : text.replace("version: 1\n", `version: 1\nname: ${name}\n`);
}

// The live processes marked for this stateDir, by job.
async function markedJobs(stateDir: string): Promise<string[]> {
  return (await readMarkedProcesses(systemHost(), stateDir)).map((p) => p.marker.job).sort();
}

async function pids(stateDir: string): Promise<{ daemon: number | undefined; watcher: number | undefined }> {
  const inv = await readInventory(stateDir);
  return { daemon: inv.daemons["d1"]?.pid, watcher: inv.watchers["push"]?.pid };
}

test("the same manifest from another path, through a symlink, or renamed is the same owner: 0 changes; status and down work from there", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const first = await f.writeManifest(withWatch(f, port), "rtsync.yaml");
  expect((await f.run(["apply", first])).exitCode).toBe(0);
  const before = await pids(f.stateDir);

  await mkdir(f.path("checkout-2"));
  const copy = f.path("checkout-2", "rtsync.yaml");
  await copyFile(first, copy);
  const link = f.path("link.yaml");
  await symlink(first, link);
  for (const other of [copy, link]) {
    const d = await f.run(["diff", other]);
    expect(d.exitCode, d.all).toBe(0);
    const a = await f.run(["apply", other]);
    expect(a.stdout).toContain("0 changed, 7 unchanged, 0 failed");
    expect((await f.run(["status", other])).exitCode).toBe(0);
  }
  const renamed = f.path("renamed.yaml");
  await rename(first, renamed);
  expect((await f.run(["diff", renamed])).exitCode).toBe(0);
  expect(await pids(f.stateDir)).toEqual(before);

  const down = await f.run(["down", renamed]);
  expect(down.stdout).toContain(`- watcher push: stopped pid ${before.watcher}`);
  expect(down.stdout).toContain(`- daemon d1: stopped pid ${before.daemon}`);
  expect(await markedJobs(f.stateDir)).toEqual([]);
});

test("two named manifests share a stateDir without touching each other; an unnamed one replaced by another shows the removal and where it was declared", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const [portA, portB] = [await freePort(), await freePort()];
  const named = (name: string, daemon: string, port: number) =>
    `version: 1\nname: ${name}\nstateDir: ${f.stateDir}\ndaemons:\n  ${daemon}:\n    address: 127.0.0.1\n    port: ${port}\n    modules:\n      m: { path: ${f.path(`replica-${name}`)} }\n`;
  const a = await f.writeManifest(named("a", "da", portA), "a.yaml");
  const b = await f.writeManifest(named("b", "db", portB), "b.yaml");
  expect((await f.run(["apply", a])).exitCode).toBe(0);
  expect((await f.run(["apply", b])).exitCode).toBe(0);
  const dbPid = (await readInventory(f.stateDir)).daemons["db"]?.pid ?? 0;
  expect((await f.run(["diff", a])).exitCode).toBe(0); // b's daemon is not a's to prune
  expect((await f.run(["down", a])).exitCode).toBe(0);
  expect(await processRunning(dbPid, ["--daemon"])).toBe(true);

  // Without a name, a stateDir holds one manifest: another one takes over, and says what goes.
  const unnamed = (daemon: string, port: number) => named("x", daemon, port).replace("name: x\n", "");
  const first = await f.writeManifest(unnamed("d1", portA), "first.yaml");
  expect((await f.run(["apply", first])).exitCode).toBe(0);
  const second = await f.writeManifest(unnamed("d2", await freePort()), "second.yaml");
  const d = await f.run(["diff", second]);
  expect(d.stdout).toMatch(new RegExp(`- daemon d1: stop pid \\d+ \\(declared by ${first}; no longer in the manifest for node \\S+\\)`));
  expect(await processRunning(dbPid, ["--daemon"])).toBe(true);
});

test("apply killed at any point of starting a daemon and a watcher: never two on one job, the next apply is not held by the dead owner's lock, down stops everything", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  await writeFile(f.path("source", "a.txt"), "a\n");
  const file = await f.writeManifest(withWatch(f, port));
  for (const afterMs of [60, 150, 250, 400, 600, 900]) {
    const child = execa(process.execPath, [BIN, "apply", file], { cwd: REPO, reject: false, stdin: "ignore", env: { ...process.env, DEMO_PW: PW } });
    await new Promise((r) => setTimeout(r, afterMs));
    child.kill("SIGKILL");
    await child;
    const again = await f.run(["apply", file]);
    expect(again.all).not.toContain("is locked by");
    expect(again.exitCode, `after a kill at ${afterMs} ms: ${again.all}`).toBe(0);
    expect(await markedJobs(f.stateDir), `after a kill at ${afterMs} ms`).toEqual(["daemon:d1", "watch-host"]);
    expect((await f.run(["diff", file])).exitCode).toBe(0);
    // Start over for the next kill point: stop everything (also what apply may have left unrecorded).
    expect((await f.run(["down", file])).exitCode).toBe(0);
    expect(await markedJobs(f.stateDir)).toEqual([]);
  }
});

test("a corrupt or lost inventory is rebuilt from the running processes: adopted, not started twice", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const file = await f.writeManifest(withWatch(f, port));
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  const before = await pids(f.stateDir);
  const inventory = `${f.stateDir}/inventory.json`;

  await writeFile(inventory, "{ garbage");
  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(2);
  expect(d.stderr).toContain(`rtsync: warning: ${inventory} is not an rtsync inventory (it is not valid JSON: `);
  expect(d.stdout).toContain(`~ daemon d1: adopt pid ${before.daemon} (running, but missing from the inventory)`);
  expect(d.stdout).toContain(`~ watcher push: adopt pid ${before.watcher} (running, but missing from the inventory)`);
  const a = await f.run(["apply", file]);
  expect(a.exitCode, a.all).toBe(0);
  expect(await pids(f.stateDir)).toEqual(before);
  expect(await readFile(`${inventory}.corrupt`, "utf8")).toBe("{ garbage");
  expect((await f.run(["diff", file])).exitCode).toBe(0);

  await rm(inventory);
  const status = await f.run(["status", file]);
  expect(status.exitCode).toBe(3);
  expect(status.stdout).toContain("problem: running, but missing from the inventory (run `rtsync apply` to adopt it)");
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  expect(await pids(f.stateDir)).toEqual(before);
  await writeFile(f.path("source", "after.txt"), "still replicating\n");
  await waitForSameTree(f.path("source"), f.path("replica"));
});

// Breaks if isSameProcess ignores the recorded uid (a process of another user with the same argv).
test("a process of another user carrying the watcher's command line is not the watcher", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const file = await f.writeManifest(withWatch(f, port));
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  const inventory = await readInventory(f.stateDir);
  const watcher = inventory.watchers["push"];
  if (!watcher) throw new Error("no watcher");
  await stopPid(watcher.pid);
  const impostor = execa("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c", "sleep 300; :", ...watcher.match], {
    stdin: "ignore",
    reject: false,
  });
  onTestFinished(() => void impostor.kill("SIGKILL"));
  const info = await (async () => {
    let found;
    await waitFor(async () => (found = await readProcessInfo(systemHost(), impostor.pid ?? 0))?.argv.includes("__host") === true || "not yet");
    return found as unknown as NonNullable<Awaited<ReturnType<typeof readProcessInfo>>>;
  })();
  // The record now names the impostor's pid and start time: only its owner (65534, not us) differs.
  await writeInventory(f.stateDir, { ...inventory, watchers: { push: { ...watcher, pid: info.pid, startTime: info.startTime } } });
  const status = await f.run(["status", file]);
  expect(status.stdout).toContain("watcher push: NOT RUNNING");
  expect(status.exitCode).toBe(3);
  const down = await f.run(["down", file]);
  expect(down.stdout).toContain(`- watcher push: was not running (pid ${info.pid})`);
  expect(await processRunning(info.pid, ["__host"]), down.all).toBe(true);
});
