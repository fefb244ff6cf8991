import { chmod, mkdir, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { writeInventory } from "../../src/state/inventory.ts";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, readInventory, stopPid, waitFor } from "../helpers/probes.ts";

// Guarantees that no test held before (issue 9): each test here fails when its guarantee is
// broken by a one-line change of the code, as the comment above it says.

const PW = "pw-GUARANTEE-SECRET-31";

// Breaks if isOurProcess trusts a pid without checking its command line (pid reuse).
test("a recorded pid now held by another program is not rtsync's: not running, started again, never stopped by down", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  const file = await f.writeManifest(loopbackManifest(f, { port }));
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  const inventory = await readInventory(f.stateDir);
  const daemon = inventory.daemons["d1"];
  if (!daemon) throw new Error("no daemon recorded");
  await stopPid(daemon.pid);
  // Another program now has the pid the inventory names (we cannot choose pids; we point the record at it).
  const other = execa("sleep", ["300"], { stdin: "ignore", reject: false });
  onTestFinished(() => void other.kill("SIGKILL"));
  const otherPid = other.pid ?? 0;
  await writeInventory(f.stateDir, { ...inventory, daemons: { d1: { ...daemon, pid: otherPid } } });

  const status = await f.run(["status", file]);
  expect(status.exitCode).toBe(3);
  expect(status.stdout).toContain(`daemon d1: NOT RUNNING  127.0.0.1:${port}`);
  const diff = await f.run(["diff", file]);
  expect(diff.exitCode).toBe(2);
  expect(diff.stdout).toContain(`+ daemon d1: start rsync --daemon on 127.0.0.1:${port} (pid ${otherPid} is not running)`);
  const down = await f.run(["down", file]);
  expect(down.stdout).toContain(`- daemon d1: was not running (pid ${otherPid})`);
  expect(await processRunning(otherPid, ["sleep", "300"])).toBe(true);
});

// A fake rsync whose daemon accepts the first connection (apply's check that it listens) and exits
// at once (os._exit: no interpreter teardown, which could outlast apply's second look).
async function fakeRsyncDir(f: ManifestFixture): Promise<string> {
  const dir = f.path("fakebin");
  await mkdir(dir, { recursive: true });
  const script = `#!/bin/sh
case "$*" in
  *--daemon*) exec python3 -c '
import os, socket, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((args["address"], int(args["port"]))); s.listen(1); s.accept(); os._exit(0)
' "$@" ;;
  *) exec /usr/bin/rsync "$@" ;;
esac
`;
  await writeFile(`${dir}/rsync`, script);
  await chmod(`${dir}/rsync`, 0o755);
  return dir;
}

// Breaks if apply trusts its own results instead of looking again (converge.ts: planLeftovers).
test("apply looks again after applying: a daemon that died right after it started is a failure, not success", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  const file = await f.writeManifest(loopbackManifest(f, { port }));
  const bin = await fakeRsyncDir(f);
  const a = await f.run(["apply", file], { env: { ...process.env, DEMO_PW: PW, PATH: `${bin}:${process.env["PATH"] ?? ""}` } });
  expect(a.stdout).toMatch(new RegExp(`\\+ daemon d1: start rsync --daemon on 127\\.0\\.0\\.1:${port}: done\n`));
  expect(a.stdout).toMatch(new RegExp(`! daemon d1: start rsync --daemon on 127\\.0\\.0\\.1:${port} \\(pid \\d+ is not running\\): failed: still differs after apply\n`));
  expect(a.stdout).toContain("4 changed, 0 unchanged, 1 failed");
  expect(a.exitCode).toBe(1);
});

// Breaks if a watch's password file is diffed as text (file plan: secret files show no content).
test("diff never shows a watch's password: its file is '(set)' or '(changed)', in text and in --json", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n`;
  const file = await f.writeManifest(loopbackManifest(f, { port, rest: watch }));
  const passwordFile = `${f.stateDir}/watches/push/password`;

  const fresh = await f.run(["diff", file]);
  expect(fresh.stdout).toContain(`+ file ${passwordFile}: create, mode 0600 (password file of watch push)\n      password: (set)\n`);
  const freshJson = await f.run(["diff", file, "--json"]);
  expect(JSON.parse(freshJson.stdout)).toMatchObject({ changes: expect.arrayContaining([expect.objectContaining({ id: `file:${passwordFile}`, details: ["  password: (set)"] })]) });

  expect((await f.run(["apply", file])).exitCode).toBe(0);
  const NEW = "pw-CHANGED-SECRET-58";
  const changed = await f.run(["diff", file], { env: { ...process.env, DEMO_PW: NEW } });
  expect(changed.stdout).toContain(`~ file ${passwordFile}: content (password file of watch push)\n      password: (changed)\n`);
  const changedJson = await f.run(["diff", file, "--json"], { env: { ...process.env, DEMO_PW: NEW } });
  for (const out of [fresh.all, freshJson.all, changed.all, changedJson.all]) {
    expect(out).not.toContain(PW);
    expect(out).not.toContain(NEW);
  }
});

// Breaks if down stops a recorded process without checking which manifest started it (down.ts).
test("down stops only what its own manifest started, even under a name another manifest uses", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const [portA, portB] = [await freePort(), await freePort()];
  const b = await f.writeManifest(loopbackManifest(f, { port: portB }), "b.yaml");
  expect((await f.run(["apply", b])).exitCode).toBe(0);
  const pidB = (await readInventory(f.stateDir)).daemons["d1"]?.pid ?? 0;

  const a = await f.writeManifest(loopbackManifest(f, { port: portA }), "a.yaml");
  const applyA = await f.run(["apply", a]);
  expect(applyA.exitCode).toBe(1);
  expect(applyA.stdout).toContain(`daemon d1: cannot be managed: failed: the name is already used in this stateDir by ${b}`);
  const downA = await f.run(["down", a]);
  expect(downA.exitCode).toBe(0);
  expect(downA.stdout.trim()).toMatch(/^nothing to stop for node \S+$/);
  expect(await processRunning(pidB, ["--daemon"])).toBe(true);
  expect((await f.run(["status", b])).exitCode).toBe(0);
});

// Breaks if status reads a watcher as healthy while its last run failed (reconcile/status.ts).
test("status exits 3 and names the rsync error while a running watcher's last run failed", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  await writeFile(f.path("source", "a.txt"), "a\n");
  // The daemon has no module "nosuch": every run fails, the watcher keeps running and retrying.
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/nosuch\n`;
  const file = await f.writeManifest(loopbackManifest(f, { port, rest: watch }));
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  let status = await f.run(["status", file]);
  await waitFor(async () => {
    status = await f.run(["status", file]);
    return status.exitCode === 3;
  }, 15_000);
  expect(status.exitCode, status.all).toBe(3);
  expect(status.stdout).toMatch(/watcher push: running, pid \d+/);
  expect(status.stdout).toMatch(/problem: full sync failed \(rsync exit code 5, transient\): @ERROR: Unknown module 'nosuch'/);
  expect(status.stdout.trim().split("\n").at(-1)).toBe("UNHEALTHY");
});
