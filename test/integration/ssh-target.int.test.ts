import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { readLogRecords } from "../../src/state/watch-log.ts";
import { readWatcherStatus, type LaneStatus } from "../../src/state/watcher-status.ts";
import { makeTempDir as makeLastingDir, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning } from "../helpers/probes.ts";
import { makeKeypair, startSshd, type Keypair, type Sshd } from "../helpers/sshd.ts";
import { makeTempDir, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// ssh:// targets (issue 21) against a real OpenSSH sshd on 127.0.0.1 (the test's own, with its
// own host key and authorized_keys), keys made by ssh-keygen, through the real CLI: apply starts
// the watch host, rsync runs over rtsync's ssh. Checks poll, never time.

let sshd: Sshd;
let keys: string;
let key: Keypair;
beforeAll(async () => {
  sshd = await startSshd();
  keys = await makeLastingDir("rtsync-keys-");
  key = await makeKeypair(keys, "id_rtsync");
  await sshd.setAuthorizedKeys([key.publicLine]);
});
afterAll(async () => {
  await sshd?.dispose();
  await rm(keys, { recursive: true, force: true });
});

interface Setup {
  readonly f: ManifestFixture;
  readonly file: string;
  readonly replica: string;
  readonly url: string;
  readonly laneKey: string;
}

// A watch of f/source to a fresh replica directory over ssh; `hostKey` is the pin (default: the sshd's).
async function setup(options: { readonly hostKey?: string; readonly extra?: string; readonly files?: Record<string, string | Buffer> } = {}): Promise<Setup> {
  const f = await useFixture();
  await mkdir(f.path("source"));
  await writeTree(f.path("source"), options.files ?? { "before.txt": "b\n" });
  const replica = await makeTempDir("rtsync-replica-");
  const url = `ssh://root@127.0.0.1:${sshd.port}${replica}`;
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    targets:
      - url: ${url}
        ssh:
          identityFile: ${key.privateFile}
          hostKey: "${options.hostKey ?? sshd.hostKey}"
    fullSync: { schedule: "0 0 1 1 *" }
${options.extra ?? ""}`);
  return { f, file, replica, url, laneKey: `ssh://127.0.0.1:${sshd.port}${replica}` };
}

const laneOf = async (s: Setup): Promise<LaneStatus | undefined> => (await readWatcherStatus(s.f.path("state", "watches", "push")))?.targets?.find((l) => l.target === s.laneKey);

// The lane's master connection: `ssh -O check` names its pid ("Master running (pid=N)").
async function masterPid(s: Setup): Promise<number | undefined> {
  const dir = s.f.path("state", "ssh");
  const sockets = await readdir(dir).catch(() => []);
  for (const name of sockets) {
    const r = await execa("ssh", ["-F", "/dev/null", "-o", `ControlPath=${path.join(dir, name)}`, "-O", "check", "x"], { reject: false, all: true });
    const m = /Master running \(pid=(\d+)\)/.exec(r.all);
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  return undefined;
}

describe("an ssh:// target", () => {
  test("replicates creates, rewrites, deletes and a directory rename (which sends under 1 % of its bytes) over one master connection", async () => {
    const big: Record<string, Buffer> = {};
    for (let i = 0; i < 10; i++) big[`photos/2024/img-${i}.bin`] = randomBytes(1024 * 1024);
    const s = await setup({ files: { "before.txt": "b\n", "gone.txt": "g\n", "archive/.keep": "", ...big } });
    const applied = await s.f.run(["apply", s.file]);
    expect(applied.exitCode, applied.all).toBe(0);
    await waitForSameTree(s.f.path("source"), s.replica, { timeoutMs: 60_000 });
    const master = await masterPid(s);
    expect(master, "a master connection runs for the lane").toBeDefined();

    await writeTree(s.f.path("source"), { "new/a.txt": "a\n", "before.txt": "rewritten\n" });
    await rm(s.f.path("source", "gone.txt"));
    await waitForSameTree(s.f.path("source"), s.replica);

    const logBefore = (await readLogRecords(s.f.path("state", "watches", "push"))).length;
    await rename(s.f.path("source", "photos/2024"), s.f.path("source", "archive/2024-renamed"));
    await waitForSameTree(s.f.path("source"), s.replica);
    await waitFor(async () => ((await laneOf(s))?.pending ?? 1) === 0 || "the rename's run has not ended");
    const runs = (await readLogRecords(s.f.path("state", "watches", "push"))).slice(logBefore).flatMap((r) => (r.type === "run" ? [r] : []));
    const sent = runs.reduce((n, r) => n + (r.bytes ?? 0), 0);
    expect(runs.length).toBeGreaterThan(0);
    expect(sent).toBeLessThan(0.01 * 10 * 1024 * 1024);
    expect((await stat(path.join(s.replica, "archive/2024-renamed/img-0.bin"))).nlink).toBe(1); // the old copy is gone
    // Every run used the one master: still the same process.
    expect(await masterPid(s)).toBe(master);

    // verify compares over ssh too; status is healthy.
    const v = await s.f.run(["verify", s.file]);
    expect(v.exitCode, v.all).toBe(0);
    expect(v.stdout).toContain(`-> root@127.0.0.1:${s.replica}: equal`);
    const st = await s.f.run(["status", s.file]);
    expect(st.exitCode, st.all).toBe(0);

    // down ends the master too (ControlPersist would keep it for minutes).
    const down = await s.f.run(["down", s.file]);
    expect(down.exitCode, down.all).toBe(0);
    await waitFor(async () => !(await processRunning(master ?? 0)) || `master ${master} still runs after down`);
  });

  test("a host key that is not the pinned one: the lane is Degraded with one sentence naming the host, the offered key and the pin; nothing reaches the replica", async () => {
    const other = await makeKeypair(keys, `other-${Date.now()}`);
    const s = await setup({ hostKey: other.publicLine });
    const applied = await s.f.run(["apply", s.file]);
    expect(applied.exitCode, applied.all).toBe(0);
    const fingerprint = (await execa("ssh-keygen", ["-lf", path.join(sshd.root, "ssh_host_ed25519_key.pub")])).stdout.split(" ")[1] ?? "";
    await waitFor(async () => (await laneOf(s))?.lastError?.message.startsWith("ssh host key") === true || "no host key error yet", 30_000);
    const lane = await laneOf(s);
    expect(lane?.lastError?.message).toBe(
      `ssh host key of 127.0.0.1 port ${sshd.port} does not match the pin: the host offered a ED25519 key ${fingerprint}, which is not the key pinned at watches.push.targets[0].ssh.hostKey in ${s.file}; nothing was sent. ` +
        `If the host's key really changed, check the new one out of band (ssh-keyscan -p ${sshd.port} 127.0.0.1 | ssh-keygen -lf -) and update the pin; retried every few minutes`,
    );
    expect(await readdir(s.replica)).toEqual([]);
    const json = JSON.parse((await s.f.run(["status", s.file, "--json"])).stdout) as { watchers: Array<{ health: string }> };
    expect(json.watchers[0]?.health).toBe("Degraded");
  });

  test("sshd killed with its connections: the lane is down, and catches up when sshd is back", async () => {
    const s = await setup();
    const applied = await s.f.run(["apply", s.file]);
    expect(applied.exitCode, applied.all).toBe(0);
    await waitForSameTree(s.f.path("source"), s.replica, { timeoutMs: 60_000 });
    await sshd.stop({ connections: true });
    try {
      await writeTree(s.f.path("source"), { "while-down.txt": "d\n" });
      await waitFor(async () => ((await laneOf(s))?.healthy === false && (await laneOf(s))?.lastError !== null) || "the lane does not say it is down", 30_000);
      await expect(stat(path.join(s.replica, "while-down.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await sshd.start();
    }
    await waitForSameTree(s.f.path("source"), s.replica, { timeoutMs: 60_000 });
    await waitFor(async () => (await laneOf(s))?.healthy === true || "the lane is not healthy again", 30_000);
  });

  test("the master connection killed: the next run opens a new one", async () => {
    const s = await setup();
    const applied = await s.f.run(["apply", s.file]);
    expect(applied.exitCode, applied.all).toBe(0);
    await waitForSameTree(s.f.path("source"), s.replica, { timeoutMs: 60_000 });
    const first = await masterPid(s);
    expect(first).toBeDefined();
    process.kill(first ?? 0, "SIGKILL");
    await writeTree(s.f.path("source"), { "after-kill.txt": "k\n" });
    await waitForSameTree(s.f.path("source"), s.replica, { timeoutMs: 60_000 });
    let second: number | undefined;
    await waitFor(async () => {
      second = await masterPid(s);
      return second !== undefined || "no master again";
    });
    expect(second).not.toBe(first);
  });
});

describe("secrets and validation", () => {
  test("the identity file's contents appear in no output, log, state file, argv or environment", async () => {
    const secret = (await readFile(key.privateFile, "utf8")).split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
    expect(secret.length).toBeGreaterThan(0);
    const s = await setup();
    // rtsync finds ssh on PATH: a wrapper first on it writes down every ssh's argv and environment
    // (the master's own are overwritten by its process title, so /proc cannot show them).
    const spy = await makeTempDir("rtsync-ssh-spy-");
    const record = path.join(spy, "record");
    await writeFile(path.join(spy, "ssh"), `#!/bin/sh\n{ printf 'argv: %s\\n' "$*"; env; } >> ${record}\nexec /usr/bin/ssh "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${spy}:${process.env["PATH"] ?? "/usr/bin:/bin"}` };
    const outputs = [await s.f.run(["validate", s.file], { env }), await s.f.run(["diff", s.file], { env }), await s.f.run(["apply", s.file, "--json"], { env })];
    await waitForSameTree(s.f.path("source"), s.replica, { timeoutMs: 60_000 });
    await writeTree(s.f.path("source"), { "more.txt": "m\n" });
    await waitForSameTree(s.f.path("source"), s.replica);
    outputs.push(await s.f.run(["status", s.file, "--json"], { env }), await s.f.run(["verify", s.file], { env }));
    const recorded = await readFile(record, "latin1");
    expect(recorded).toContain(`-i ${key.privateFile}`);
    for (const line of secret) expect(recorded).not.toContain(line);
    for (const o of outputs) for (const line of secret) expect(o.all).not.toContain(line);
    // Every process now running: rtsync's watch host, rsync, ssh and its master included.
    let checked = 0;
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const [cmdline, environ] = await Promise.all([readFile(`/proc/${entry}/cmdline`, "latin1").catch(() => ""), readFile(`/proc/${entry}/environ`, "latin1").catch(() => "")]);
      if (cmdline.includes(s.f.stateDir) && cmdline.includes("[mux]")) checked++; // the master names its control socket ("ssh: PATH [mux]")
      for (const line of secret) {
        expect(cmdline, `pid ${entry}`).not.toContain(line);
        expect(environ, `pid ${entry}`).not.toContain(line);
      }
    }
    expect(checked, "the lane's ssh master was among them").toBeGreaterThan(0);
    for (const entry of await readdir(s.f.dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const text = await readFile(path.join(entry.parentPath, entry.name), "latin1");
      for (const line of secret) expect(text, path.join(entry.parentPath, entry.name)).not.toContain(line);
    }
  });

  test("validate: a key others may read, a missing pin and -e in rsyncArgs are errors at their line; a public rsync:// target is a warning naming ssh", async () => {
    const f = await useFixture();
    await mkdir(f.path("source"));
    const loose = path.join(f.dir, "loose_key");
    await writeFile(loose, "not a key\n", { mode: 0o644 });
    // The machine's word on the key comes once the manifest itself is valid.
    const first = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    targets:
      - url: ssh://root@127.0.0.1:${sshd.port}/srv/a
        ssh:
          identityFile: ${loose}
          hostKey: "${sshd.hostKey}"
      - rsync://203.0.113.5/backup
`);
    const a = await f.run(["validate", first, "--node", "here"]);
    expect(a.exitCode).toBe(1);
    expect(a.stderr).toContain(`${first}:9:25: ssh.identityFile ${loose} has mode 0644: others may read the key; chmod 600 it`);
    expect(a.stderr).toContain(`${first}:11:9: warning: target host 203.0.113.5 is not a loopback or private address and the rsync daemon protocol sends file data in clear text; across sites use an ssh:// target`);
    expect(a.stderr).not.toContain("not a key");
    const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    targets:
      - url: ssh://root@127.0.0.1/srv/b
        ssh:
          identityFile: ${key.privateFile}
    rsyncArgs: ["-e"]
`);
    const r = await f.run(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${file}:8:9: ssh settings pin no host key: add hostKey: "ssh-ed25519 AAAA..." (ssh-keyscan, checked out of band) or knownHosts: FILE`);
    expect(r.stderr).toContain(`${file}:10:17: rsyncArgs item "-e" has -e (--rsh), which is not allowed: rtsync runs ssh itself for ssh:// targets`);
  });
});

// Names, types, sizes and contents (not owners: the receiver writes as its account).
async function waitForSameContent(source: string, replica: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => {
    const r = await execa("rsync", ["-rlnci", "--delete", `${source}/`, `${replica}/`], { reject: false, env: { LC_ALL: "C" } });
    if (r.exitCode !== 0) return `rsync -rlnci exited ${String(r.exitCode)}: ${r.stderr}`;
    const diff = r.stdout
      .split("\n")
      .filter((l) => l !== "" && !/^\.d\S* \.\/$/.test(l))
      .join("\n");
    return diff === "" || diff;
  }, timeoutMs);
}

describe("an sshReceiver", () => {
  // The account's entry in /etc/passwd, split on ':'.
  const passwdEntry = async (name: string): Promise<string[] | undefined> =>
    (await readFile("/etc/passwd", "utf8"))
      .split("\n")
      .map((l) => l.split(":"))
      .find((f) => f[0] === name);

  test("apply makes the account, its path and its marked authorized_keys lines; diff shows keys added and removed; other lines stay; a sender writes through rrsync and cannot read", async () => {
    const name = `rtsynctest-${randomBytes(3).toString("hex")}`;
    expect(await passwdEntry(name)).toBeUndefined();
    // Registered first: runs after the fixtures' cleanup.
    onTestFinished(async () => {
      await execa("userdel", [name], { reject: false });
      await execa("groupdel", [name], { reject: false });
      await rm(`/home/${name}`, { recursive: true, force: true });
    });
    const home = await startSshd({ authorizedKeysFile: ".ssh/authorized_keys" });
    onTestFinished(() => home.dispose());
    const second = await makeKeypair(keys, `second-${Date.now()}`);
    const r = await useFixture();
    const replica = r.path("replica", "www");
    const receiver = (authorizedKeys: readonly string[]): string => `version: 1
stateDir: ${r.stateDir}
sshReceivers:
  www-in:
    account: ${name}
    createAccount: true
    path: ${replica}
    authorizedKeys:
${authorizedKeys.map((k) => `      - "${k}"\n`).join("")}`;
    const file = await r.writeManifest(receiver([key.publicLine]));
    const applied = await r.run(["apply", file]);
    expect(applied.exitCode, applied.all).toBe(0);
    const entry = await passwdEntry(name);
    expect(entry?.[5]).toBe(`/home/${name}`);
    expect(entry?.[6]).toBe("/bin/sh");
    const shadow = (await readFile("/etc/shadow", "utf8")).split("\n").find((l) => l.startsWith(`${name}:`));
    expect(shadow?.split(":")[1]).toBe("*"); // no password, not locked
    const uid = Number(entry?.[2]);
    expect((await stat(replica)).uid).toBe(uid);
    const keysFile = `/home/${name}/.ssh/authorized_keys`;
    const line1 = `restrict,command="/usr/bin/rrsync -wo -absolute ${replica}" ${key.publicLine} # rtsync:www-in`;
    expect(await readFile(keysFile, "utf8")).toBe(`${line1}\n`);
    expect((await stat(keysFile)).uid).toBe(0);

    // A line of the operator's is left alone; a second key is a diff, then converges.
    await writeFile(keysFile, `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorOperatorOperatorOperatorOperator00 operator\n${line1}\n`);
    await r.writeManifest(receiver([key.publicLine, second.publicLine]));
    const d1 = await r.run(["diff", file]);
    expect(d1.exitCode, d1.all).toBe(2);
    expect(d1.stdout).toContain(`authorized_keys ${keysFile}: add 1 key(s) (sshReceiver www-in)`);
    expect(d1.stdout).toContain(`+ ${second.publicLine}`);
    expect((await r.run(["apply", file])).exitCode).toBe(0);
    await r.writeManifest(receiver([second.publicLine]));
    const d2 = await r.run(["diff", file]);
    expect(d2.stdout).toContain(`authorized_keys ${keysFile}: remove 1 key(s) (sshReceiver www-in)`);
    expect(d2.stdout).toContain(`- ${key.publicLine}`);
    await r.writeManifest(receiver([key.publicLine]));
    expect((await r.run(["apply", file])).exitCode).toBe(0);
    expect((await r.run(["diff", file])).exitCode).toBe(0);
    expect(await readFile(keysFile, "utf8")).toBe(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorOperatorOperatorOperatorOperator00 operator\n${line1}\n`);

    // The sender: its writes land as the account; a read (verify) is refused by rrsync, and says so.
    const s = await useFixture();
    await mkdir(s.path("source"));
    await writeTree(s.path("source"), { "a.txt": "a\n", "d/b.txt": "b\n" });
    const sender = await s.writeManifest(`version: 1
stateDir: ${s.stateDir}
watches:
  push:
    source: ${s.path("source")}
    targets:
      - url: ssh://${name}@127.0.0.1:${home.port}${replica}
        ssh:
          identityFile: ${key.privateFile}
          hostKey: "${home.hostKey}"
    fullSync: { schedule: "0 0 1 1 *" }
`);
    const sent = await s.run(["apply", sender]);
    expect(sent.exitCode, sent.all).toBe(0);
    await waitForSameContent(s.path("source"), replica, 60_000);
    expect((await stat(path.join(replica, "d/b.txt"))).uid).toBe(uid);
    await writeTree(s.path("source"), { "c.txt": "c\n" });
    await waitForSameContent(s.path("source"), replica);
    // A renamed directory arrives too (rrsync refuses the rename step's --link-dest=../…, so its
    // files are sent again: docs/across-sites.md).
    await rename(s.path("source", "d"), s.path("source", "e"));
    await waitForSameContent(s.path("source"), replica);
    // verify is a dry-run push: the receiver's side only compares, which rrsync -wo allows.
    const v = await s.run(["verify", sender]);
    expect(v.exitCode, v.all).toBe(0);
    // A read: the deletion guard lists the target before a full sync from an empty source; the
    // write-only key may not, and the lane says why in one sentence (nothing is deleted).
    expect((await s.run(["down", sender])).exitCode).toBe(0);
    for (const name of await readdir(s.path("source"))) await rm(s.path("source", name), { recursive: true });
    expect((await s.run(["apply", sender])).exitCode).toBe(0);
    let message = "";
    await waitFor(async () => {
      message = (await readWatcherStatus(s.path("state", "watches", "push")))?.targets?.[0]?.lastError?.message ?? "";
      return message.includes("rrsync refused a read") || `no refusal reported: ${message}`;
    }, 30_000);
    expect(message).toContain("the receiver's rrsync refused a read (/usr/bin/rrsync error: reading from write-only server is not allowed): its key may only write (rrsync -wo)");
    expect(await readFile(path.join(replica, "a.txt"), "utf8")).toBe("a\n");

    // The receiver leaves the manifest: diff names the removal, apply takes its marked lines out
    // (the key can no longer log in) and keeps the operator's line, the account and the replica.
    await r.writeManifest(`version: 1\nstateDir: ${r.stateDir}\n`);
    const d3 = await r.run(["diff", file]);
    expect(d3.exitCode, d3.all).toBe(2);
    expect(d3.stdout).toContain(`authorized_keys ${keysFile}: remove the keys of sshReceiver www-in (no longer in the manifest; its account and path are kept)`);
    const pruned = await r.run(["apply", file]);
    expect(pruned.exitCode, pruned.all).toBe(0);
    expect(await readFile(keysFile, "utf8")).toBe("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorOperatorOperatorOperatorOperator00 operator\n");
    expect(await passwdEntry(name)).toBeDefined();
    expect(await readFile(path.join(replica, "a.txt"), "utf8")).toBe("a\n");
    expect((await r.run(["diff", file])).exitCode).toBe(0);
  });
});
