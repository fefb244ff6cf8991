import { chmod, mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { execa } from "execa";
import { expect, test } from "vitest";
import { acquireApplyLock } from "../../src/reconcile/lock.ts";
import { freePort, loopbackManifest, runAsNobody, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { canConnect, readInventory } from "../helpers/probes.ts";

// What goes wrong outside the manifest gets one clear sentence and exit 1, and leaves no secrets
// file and no daemon behind: an unset password variable, a missing or unreadable password file,
// no rsync on PATH, another apply holding the lock.

function manifest(f: ManifestFixture, port: number, password: string): string {
  return loopbackManifest(f, { port, password });
}

// No secrets file, no daemon recorded, nothing listening.
async function expectNoSecretsNoDaemon(f: ManifestFixture, port: number): Promise<void> {
  const dir = await readdir(`${f.stateDir}/daemons/d1`).catch(() => [] as string[]);
  expect(dir).not.toContain("rsyncd.secrets");
  expect(dir).not.toContain("rsyncd.conf");
  expect((await readInventory(f.stateDir)).daemons).toEqual({});
  expect(await canConnect(port)).toBe(false);
}

test("an unset password variable: exit 1 naming the variable, no secrets file, no daemon", async () => {
  const f = await useFixture();
  const port = await freePort();
  const file = await f.writeManifest(manifest(f, port, "{ env: RTSYNC_TEST_UNSET_PW }"));
  const secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
  const conf = `${f.stateDir}/daemons/d1/rsyncd.conf`;
  const why = 'the password of user "demo" comes from environment variable RTSYNC_TEST_UNSET_PW, which is not set';

  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(1);
  expect(d.stdout).toContain(`+ file ${secrets}: cannot be rendered (secrets file of daemon d1)\n    ! cannot be applied: ${why}\n`);

  const a = await f.run(["apply", file]);
  expect(a.exitCode).toBe(1);
  expect(a.stdout).toContain(`! file ${secrets}: cannot be rendered (secrets file of daemon d1): failed: ${why}\n`);
  // rsyncd.conf names the secrets file, so it waits for it: nothing half-written.
  expect(a.stdout).toContain(`! file ${conf}: create, mode 0644 (rsyncd.conf of daemon d1): skipped because file:${secrets} was not applied\n`);
  expect(a.stdout).toContain(`! daemon d1: start rsync --daemon on 127.0.0.1:${port}: skipped because file:${secrets} was not applied\n`);
  expect(a.stdout).toContain("1 changed, 0 unchanged, 3 failed");
  expect(a.stderr).toBe("");
  await expectNoSecretsNoDaemon(f, port);

  // --json: the failed and the skipped change, with their messages.
  const j = await f.run(["apply", file, "--json"]);
  expect(j.exitCode).toBe(1);
  expect(JSON.parse(j.stdout)).toMatchObject({
    results: [
      { id: `file:${secrets}`, op: "create", status: "failed", message: why, blocked: why },
      { id: `file:${conf}`, op: "create", status: "skipped", message: `skipped because file:${secrets} was not applied` },
      { id: "daemon:d1", op: "create", status: "skipped", message: `skipped because file:${secrets} was not applied` },
    ],
    summary: { changed: 0, unchanged: 1, failed: 3 },
  });
  await expectNoSecretsNoDaemon(f, port);
});

test("a missing or unreadable password file: exit 1 naming the file, no secrets file, no daemon", async () => {
  const f = await useFixture();
  const port = await freePort();
  const file = await f.writeManifest(manifest(f, port, "{ file: secrets/demo }"));
  const pwFile = f.path("secrets", "demo");
  const [d, a] = await Promise.all([f.run(["diff", file]), f.run(["apply", file])]);
  const missing = `cannot read the password of user "demo" from password file ${pwFile}: no such file or directory`;
  expect(d.exitCode).toBe(1);
  expect(d.stdout).toContain(`    ! cannot be applied: ${missing}\n`);
  expect(a.exitCode).toBe(1);
  expect(a.stdout).toContain(`: failed: ${missing}\n`);
  await expectNoSecretsNoDaemon(f, port);

  // The file exists but is root's alone (0600), and rtsync runs as nobody.
  await mkdir(dirname(pwFile), { mode: 0o755 });
  await writeFile(pwFile, "pw-SECRET-1234\n", { mode: 0o600 });
  // apply made stateDir root's alone (0700, issue 19); open it to nobody for this read.
  await chmod(f.stateDir, 0o755);
  const unreadable = await runAsNobody(["diff", file]);
  expect(unreadable.exitCode).toBe(1);
  expect(unreadable.stdout).toContain(`    ! cannot be applied: cannot read the password of user "demo" from password file ${pwFile}: permission denied\n`);
  expect(unreadable.all).not.toContain("pw-SECRET");
});

test("rsync missing from PATH: exit 1, `rsync is not installed`, nothing written", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-SECRET-1234" } });
  const port = await freePort();
  const file = await f.writeManifest(manifest(f, port, "{ env: DEMO_PW }"));
  // A PATH with node and nothing else.
  await mkdir(f.path("bin"));
  await symlink(process.execPath, f.path("bin", "node"));
  const env = { PATH: f.path("bin") };
  const [d, a] = await Promise.all([f.run(["diff", file], { env }), f.run(["apply", file], { env })]);
  const sentence = "rtsync: rsync is not installed or not on PATH; install it (apt-get install rsync) and run again";
  for (const r of [d, a]) expect([r.exitCode, r.stdout, r.stderr]).toEqual([1, "", sentence]);
  // The rsync version check (issue 19) finds no rsync before the apply lock creates stateDir.
  expect((await readdir(f.dir)).sort()).toEqual(["bin", "rtsync.yaml"]);
  expect(await canConnect(port)).toBe(false);
});

test("another apply holding the lock: apply waits, then exits 1 saying who holds it", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-SECRET-1234" } });
  const port = await freePort();
  const file = await f.writeManifest(manifest(f, port, "{ env: DEMO_PW }"));
  const release = await acquireApplyLock(f.stateDir, "/elsewhere/other.yaml");
  try {
    const started = Date.now();
    const a = await f.run(["apply", file]);
    expect(Date.now() - started).toBeGreaterThan(4000);
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toBe("");
    expect(a.stderr).toMatch(
      new RegExp(
        `^rtsync: ${f.stateDir} is locked by rtsync \\(pid ${process.pid}, started \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, manifest /elsewhere/other\\.yaml\\); waited 5s, try again when it has finished$`,
      ),
    );
  } finally {
    await release();
  }
  expect((await readdir(f.dir)).sort()).toEqual(["rtsync.yaml", "state"]);
  await expectNoSecretsNoDaemon(f, port);
});

test("an inventory that cannot be written changes nothing: the running daemon keeps its old start-up settings, and the next apply repairs it", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-SECRET-1234" } });
  const [port1, port2] = [await freePort(), await freePort()];
  const first = await f.run(["apply", await f.writeManifest(manifest(f, port1, "{ env: DEMO_PW }"))]);
  expect(first.exitCode).toBe(0);
  const inventory = `${f.stateDir}/inventory.json`;
  const file = await f.writeManifest(manifest(f, port2, "{ env: DEMO_PW }"));
  // An immutable inventory: the intent to restart cannot be recorded, so nothing is stopped or started.
  await execa("chattr", ["+i", inventory]);
  try {
    const a = await f.run(["apply", file]);
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toMatch(new RegExp(`! daemon d1: restart on 127\\.0\\.0\\.1:${port2} .*: failed: cannot write ${inventory}: permission denied; `));
    expect(await canConnect(port1)).toBe(true);
    expect(await canConnect(port2)).toBe(false);
  } finally {
    await execa("chattr", ["-i", inventory]);
  }
  const again = await f.run(["apply", file]);
  expect(again.exitCode).toBe(0);
  expect(await canConnect(port2)).toBe(true);
  expect((await readInventory(f.stateDir)).daemons["d1"]?.detail).toMatchObject({ port: port2 });
});
