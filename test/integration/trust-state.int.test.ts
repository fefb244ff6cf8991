import { spawn } from "node:child_process";
import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, stopPid } from "../helpers/probes.ts";

// Issue 19, "stateDir is root's": a stateDir another user can change hands over root's `kill`
// (inventory.json names the processes apply stops). Every command refuses such a stateDir, a
// document another user could have written is not trusted, and rtsync writes its state 0600 in
// 0700 directories. Real users (useradd), real processes.

// A system user for this test only, removed when the test ends.
async function makeUser(): Promise<{ name: string; uid: number }> {
  const name = `rtsync-test-${randomBytes(3).toString("hex")}`;
  await execa("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]);
  onTestFinished(async () => {
    await execa("userdel", [name], { reject: false });
  });
  const { stdout } = await execa("id", ["-u", name]);
  return { name, uid: Number(stdout.trim()) };
}

// A root process that is not rtsync's: `sleep`, stopped by pid when the test ends.
async function rootSleep(): Promise<{ pid: number; startTime: number }> {
  const child = spawn("sleep", ["300"], { stdio: "ignore", detached: true });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error("sleep did not start");
  onTestFinished(() => stopPid(pid));
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { pid, startTime: Number(fields[19]) };
}

// An inventory that says rtsync started `pid` as daemon "legacy" for `file` on node n1 (the
// manifest no longer declares it, so apply would prune it: stop it).
function forgedInventory(file: string, victim: { pid: number; startTime: number }): string {
  const record = {
    manifest: file,
    owner: "",
    node: "n1",
    pid: victim.pid,
    uid: 0,
    startTime: victim.startTime,
    hash: "forged",
    startedAt: new Date().toISOString(),
    match: ["sleep"],
    detail: { startupLines: [], address: "127.0.0.1", port: 1, config: "/nonexistent", pidFile: "/nonexistent" },
  };
  return JSON.stringify({ version: 1, daemons: { legacy: record }, watchers: {} });
}

function emptyManifest(stateDir: string): string {
  return `version: 1\nstateDir: ${stateDir}\n`;
}

async function stateBelowForeignParent(f: ManifestFixture, uid: number): Promise<string> {
  const parent = f.path("u");
  await mkdir(parent, { mode: 0o755 });
  await chown(parent, uid, uid);
  const stateDir = path.join(parent, "state");
  await mkdir(stateDir, { mode: 0o700 });
  return stateDir;
}

test("a stateDir below a directory another user owns is refused by every command, and the root process its inventory names lives", async () => {
  const f = await useFixture();
  const user = await makeUser();
  const stateDir = await stateBelowForeignParent(f, user.uid);
  const file = await f.writeManifest(emptyManifest(stateDir));
  const victim = await rootSleep();
  // The user could have put this there (the parent is theirs); it is root's here, so only the
  // walk up the stateDir's parents can refuse it.
  await writeFile(path.join(stateDir, "inventory.json"), forgedInventory(file, victim), { mode: 0o600 });

  const apply = await f.run(["apply", file, "--node", "n1"]);
  expect(apply.exitCode).toBe(1);
  const parent = f.path("u");
  expect(apply.stderr).toBe(`rtsync: stateDir ${stateDir}: ${parent} is owned by uid ${user.uid}; make it root's (chown root ${parent}) or choose another stateDir\n`.trimEnd());
  expect(await processRunning(victim.pid, ["sleep"])).toBe(true);
  for (const command of ["diff", "status", "down", "verify"]) {
    const r = await f.run([command, file, "--node", "n1"]);
    expect([command, r.exitCode, r.stderr]).toEqual([command, 1, expect.stringContaining(`stateDir ${stateDir}: ${parent} is owned by uid ${user.uid}`)]);
  }
  expect(await processRunning(victim.pid, ["sleep"])).toBe(true);
});

test("a stateDir writable by group is refused; a 0700 mkdtemp stateDir under the sticky /tmp is not", async () => {
  const f = await useFixture();
  const shared = f.path("shared");
  await mkdir(shared);
  await chmod(shared, 0o775);
  const file = await f.writeManifest(emptyManifest(path.join(shared, "state")));
  const r = await f.run(["diff", file, "--node", "n1"]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`${shared} is writable by group or others (mode 0775); make it writable by its owner only (chmod go-w ${shared}) or choose another stateDir`);
  // The fixture's own stateDir: /tmp (1777, root) then root's 0755 and 0700 directories.
  const ok = await f.run(["diff", await f.writeManifest(emptyManifest(f.stateDir), "ok.yaml"), "--node", "n1"]);
  expect(ok.stderr).toBe("");
  expect(ok.exitCode).toBe(0);
});

test("an inventory.json owned by another user is not trusted: apply sets it aside, rebuilds from its own marked processes and kills nothing", async () => {
  const f = await useFixture();
  const user = await makeUser();
  await mkdir(f.stateDir, { mode: 0o700 });
  const file = await f.writeManifest(emptyManifest(f.stateDir));
  const victim = await rootSleep();
  const inventory = path.join(f.stateDir, "inventory.json");
  await writeFile(inventory, forgedInventory(file, victim), { mode: 0o600 });
  await chown(inventory, user.uid, user.uid);

  const apply = await f.run(["apply", file, "--node", "n1"]);
  expect(apply.stderr).toContain(`rtsync: warning: ${inventory} is not trusted (it is owned by uid ${user.uid}, not by root); rebuilding it`);
  expect(apply.stdout).not.toContain("legacy");
  expect(await processRunning(victim.pid, ["sleep"])).toBe(true);

  // Root's, but writable by others: not trusted either.
  await writeFile(inventory, forgedInventory(file, victim));
  await chown(inventory, 0, 0);
  await chmod(inventory, 0o666);
  const again = await f.run(["apply", file, "--node", "n1"]);
  expect(again.stderr).toContain(`rtsync: warning: ${inventory} is not trusted (it is writable by group or others (mode 0666)); rebuilding it`);
  expect(again.stdout).not.toContain("legacy");
  expect(await processRunning(victim.pid, ["sleep"])).toBe(true);
});

test("state files are written 0600 and state directories 0700", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-state-modes" } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n    fullSync: { schedule: "0 0 1 1 *" }\n`;
  const file = await f.writeManifest(loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n", rest: watch }));
  const r = await f.run(["apply", file]);
  expect(r.exitCode, r.all).toBe(0);
  const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);
  expect(await mode(f.stateDir)).toBe("700");
  expect(await mode(path.join(f.stateDir, "inventory.json"))).toBe("600");
  expect(await mode(path.join(f.stateDir, "daemons", "d1"))).toBe("700");
  expect(await mode(path.join(f.stateDir, "watches", "push"))).toBe("700");
  expect(await mode(path.join(f.stateDir, "watches", "push", "spec.json"))).toBe("600");
});
