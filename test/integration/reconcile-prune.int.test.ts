import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { expect, onTestFinished, test } from "vitest";
import { freePort, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { canConnect, daemonPid, processRunning, readInventory, stopPid, waitFor } from "../helpers/probes.ts";

// rtsync stops what it started and nothing else: a daemon that left the manifest is pruned,
// `down` stops the declared ones, and an rsync daemon someone started by hand on the same port is
// reported as a conflict and left running.

const PW = "pw-SECRET-1234";
const NODE = hostname().split(".")[0];

function daemon(f: ManifestFixture, name: string, port: number, module: string): string {
  return `  ${name}:
    address: 127.0.0.1
    port: ${port}
    hostsAllow: [127.0.0.1]
    modules:
      ${module}: { path: ${f.path(module)}, readOnly: false, authUsers: [demo] }
`;
}

function manifest(f: ManifestFixture, daemons: string): string {
  return `version: 1
stateDir: ${f.stateDir}
users:
  demo: { password: { env: DEMO_PW } }
daemons:
${daemons}`;
}

const changeLines = (out: string) => out.split("\n").filter((l) => /^[+~!-] /.test(l));

test("a daemon removed from the manifest is stopped by apply; rtsync down stops the rest", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const [p1, p2] = [await freePort(), await freePort()];
  const file = await f.writeManifest(manifest(f, daemon(f, "d1", p1, "one") + daemon(f, "d2", p2, "two")));
  const up = await f.run(["apply", file]);
  expect(up.exitCode, up.all).toBe(0);
  const [pid1, pid2] = [await daemonPid(f.stateDir, "d1"), await daemonPid(f.stateDir, "d2")];
  expect([await canConnect(p1), await canConnect(p2)]).toEqual([true, true]);

  await f.writeManifest(manifest(f, daemon(f, "d1", p1, "one")));
  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(2);
  expect(changeLines(d.stdout)).toEqual([`- daemon d2: stop pid ${pid2} (declared by ${file}; no longer in the manifest for node ${NODE})`]);
  const pruned = await f.run(["apply", file]);
  expect(pruned.exitCode, pruned.all).toBe(0);
  expect(changeLines(pruned.stdout)).toEqual([`- daemon d2: stop pid ${pid2} (declared by ${file}; no longer in the manifest for node ${NODE}): done`]);
  expect(await processRunning(pid2)).toBe(false);
  expect(await canConnect(p2)).toBe(false);
  expect(Object.keys((await readInventory(f.stateDir)).daemons)).toEqual(["d1"]);
  expect(await daemonPid(f.stateDir, "d1")).toBe(pid1);
  expect(await canConnect(p1)).toBe(true);

  const down = await f.run(["down", file]);
  expect(down.exitCode, down.all).toBe(0);
  expect(down.stdout).toBe(`- daemon d1: stopped pid ${pid1}`);
  expect(await processRunning(pid1)).toBe(false);
  expect(await canConnect(p1)).toBe(false);
  // The record stays, marked stopped: status says so rather than "never started".
  expect((await readInventory(f.stateDir)).daemons["d1"]?.stoppedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect((await f.run(["status", file])).stdout).toContain("problem: stopped at ");
  const again = await f.run(["down", file]);
  expect([again.exitCode, again.stdout]).toEqual([0, `nothing to stop for node ${NODE}`]);
});

// Someone else's rsync daemon on 127.0.0.1:port, not started by rtsync (its own config, pid file
// and module; stdin ignored, or rsync takes the socket for inetd's). Stopped after the test.
async function startHandDaemon(f: ManifestFixture, port: number): Promise<number> {
  await mkdir(f.path("hand", "pub"), { recursive: true });
  const conf = f.path("hand", "rsyncd.conf");
  await writeFile(conf, `pid file = ${f.path("hand", "rsyncd.pid")}\nlog file = ${f.path("hand", "rsyncd.log")}\n[pub]\npath = ${f.path("hand", "pub")}\n`);
  const hand = spawn("rsync", ["--daemon", "--no-detach", `--config=${conf}`, `--port=${port}`, "--address=127.0.0.1"], { stdio: "ignore" });
  const pid = hand.pid;
  if (pid === undefined) throw new Error("could not start rsync --daemon");
  onTestFinished(() => stopPid(pid));
  expect(await waitFor(() => canConnect(port))).toBe(true);
  return pid;
}

// The conflict sentence, as a regular expression (the holder's command line may be cut short).
const conflictPattern = (port: number, pid: number) =>
  `127\\.0\\.0\\.1:${port} is in use by pid ${pid} \\(rsync --daemon --no-detach --config=[^)]*\\), which rtsync did not start; stop it or choose another port`;

test("an rsync daemon started by hand on the port is a conflict: apply exits 1 naming the port and kills nothing", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  const handPid = await startHandDaemon(f, port);
  const file = await f.writeManifest(manifest(f, daemon(f, "d1", port, "data")));
  const conflict = new RegExp(conflictPattern(port, handPid));
  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(1);
  expect(d.stdout).toMatch(new RegExp(`\\n    ! cannot be applied: ${conflict.source}\\n`));

  const a = await f.run(["apply", file]);
  expect(a.exitCode).toBe(1);
  expect(a.stdout).toMatch(new RegExp(`\\n! daemon d1: start rsync --daemon on 127\\.0\\.0\\.1:${port}: failed: ${conflict.source}\\n`));
  expect(a.stdout).toContain("3 changed, 0 unchanged, 1 failed");
  expect((await readInventory(f.stateDir)).daemons).toEqual({});
  expect(await processRunning(handPid)).toBe(true);
  // status names the conflict, not "never started (run `rtsync apply`)", which cannot help.
  const s = await f.run(["status", file]);
  expect(s.exitCode).toBe(3);
  expect(s.stdout).toMatch(new RegExp(`\\n  problem: not running: ${conflict.source}`));
  expect(s.stdout).not.toContain("never started");

  const down = await f.run(["down", file]);
  expect([down.exitCode, down.stdout]).toEqual([0, `nothing to stop for node ${NODE}`]);
  expect(await processRunning(handPid)).toBe(true);
  expect(await canConnect(port)).toBe(true);
});

test("a port change onto a port another program holds is a conflict: the running daemon stays as it is", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const [port, taken] = [await freePort(), await freePort()];
  const handPid = await startHandDaemon(f, taken);
  const file = await f.writeManifest(manifest(f, daemon(f, "d1", port, "data")));
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  const pid = await daemonPid(f.stateDir, "d1");

  await f.writeManifest(manifest(f, daemon(f, "d1", taken, "data")));
  const a = await f.run(["apply", file]);
  expect(a.exitCode).toBe(1);
  expect(a.stdout).toMatch(
    new RegExp(`\\n! daemon d1: restart on 127\\.0\\.0\\.1:${taken} \\(start-up settings changed; pid ${pid}\\): failed: ${conflictPattern(taken, handPid)}\\n`),
  );
  expect(await daemonPid(f.stateDir, "d1")).toBe(pid);
  expect(await processRunning(pid)).toBe(true);
  expect(await canConnect(port)).toBe(true);
  expect(await processRunning(handPid)).toBe(true);
});
