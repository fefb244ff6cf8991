import { chmod, chown, mkdir, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect, test } from "vitest";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";

// Issue 19: every path is a path (path-valued rsyncd parameters under `options:` pass the same
// refusals and claims as the typed keys; claims compare files, not text), and a node policy the
// manifest cannot change (--policy FILE, /etc/rtsync/policy.yaml). Real CLI, real files.

// FILE:LINE:COL of the first `needle` in `text`, as validate prints it.
function at(file: string, text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${needle} not in the manifest`);
  const before = text.slice(0, index).split("\n");
  return `${file}:${before.length}:${(before[before.length - 1] ?? "").length + 1}`;
}

async function writePolicy(f: ManifestFixture, text: string): Promise<string> {
  const dir = f.path("policy");
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const file = path.join(dir, "policy.yaml");
  await writeFile(file, text, { mode: 0o644 });
  return file;
}

test("path-valued rsyncd parameters set through options are refused like the typed keys, at their positions", async () => {
  const f = await useFixture();
  const port = await freePort();
  const text = loopbackManifest(f, {
    port,
    daemonExtra: `    options: { "motd file": /etc/shadow }\n`,
    modulesExtra: `      m2:\n        path: ${f.path("m2")}\n        hostsAllow: [127.0.0.1]\n        options: { "lock file": /etc/nologin, "log file": /etc/cron.d/x, "temp dir": /etc }\n`,
  });
  const file = await f.writeManifest(text);
  const r = await f.run(["validate", file]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`${at(file, text, "/etc/shadow")}: options."motd file" /etc/shadow is the password hashes, a system file rtsync must never hand to rsyncd`);
  expect(r.stderr).toContain(`${at(file, text, "/etc/nologin")}: options."lock file" /etc/nologin is the file whose presence stops every login, a system file`);
  expect(r.stderr).toContain(`${at(file, text, "/etc/cron.d/x")}: options."log file" /etc/cron.d/x lies inside /etc/cron.d, whose files a root process reads as configuration or runs`);
  expect(r.stderr).toContain(`${at(file, text, "/etc }")}: options."temp dir" /etc is a system directory`);
  // And apply changes nothing.
  const apply = await f.run(["apply", file]);
  expect(apply.exitCode).toBe(1);
  await expect(stat(f.stateDir)).rejects.toMatchObject({ code: "ENOENT" });
});

test("an option path is a claim like any other: a motd file that is the secrets file is refused", async () => {
  const f = await useFixture();
  const port = await freePort();
  const secrets = f.path("s", "rsyncd.secrets");
  const text = loopbackManifest(f, { port, daemonExtra: `    secretsFile: ${secrets}\n    options: { "motd file": ${secrets} }\n` });
  const file = await f.writeManifest(text);
  const r = await f.run(["validate", file]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`: options."motd file" ${secrets} is also daemons.d1.secretsFile (${at(file, text, secrets)}); rsyncd would read (and for a motd, send to every client) what rtsync writes or owns there`);
});

test("claims compare files by identity: a secretsFile through a symlinked parent is the sysctlFile it names", async () => {
  const f = await useFixture();
  const port = await freePort();
  await mkdir(f.path("etc"));
  await symlink(f.path("etc"), f.path("etclink"));
  const text = loopbackManifest(f, { port, daemonExtra: `    secretsFile: ${f.path("etclink", "s")}\n`, rest: `sysctlFile: ${f.path("etc", "s")}\n` });
  const file = await f.writeManifest(text);
  const r = await f.run(["validate", file]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`secretsFile ${f.path("etc", "s")} is also sysctlFile (${at(file, text, f.path("etc", "s"))}); each file rtsync writes must have one purpose`);
  // And the same file as a hard link, with two names in two directories.
  await mkdir(f.path("other"));
  await writeFile(f.path("etc", "h"), "");
  const { link } = await import("node:fs/promises");
  await link(f.path("etc", "h"), f.path("other", "h"));
  const hard = loopbackManifest(f, { port, daemonExtra: `    secretsFile: ${f.path("other", "h")}\n`, rest: `sysctlFile: ${f.path("etc", "h")}\n` });
  const r2 = await f.run(["validate", await f.writeManifest(hard, "hard.yaml")]);
  expect(r2.exitCode).toBe(1);
  expect(r2.stderr).toContain(`secretsFile ${f.path("other", "h")} is also sysctlFile`);
});

test("a policy allowing only /srv refuses a manifest naming /var/lib/dpkg and the fixture's paths, at their positions, in validate and apply; apply changes nothing", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-policy" } });
  const port = await freePort();
  const policy = await writePolicy(f, "version: 1\npaths: [/srv]\n");
  const text = loopbackManifest(f, { port, modulesExtra: `      pkgs: { path: /var/lib/dpkg/info, readOnly: false, authUsers: [demo] }\n` });
  const file = await f.writeManifest(text);
  const outside = (value: string) => `${at(file, text, value)}: ${value} is outside the node's policy (${policy}:2: paths: [/srv])`;
  const r = await f.run(["validate", file, "--policy", policy]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(outside("/var/lib/dpkg/info"));
  expect(r.stderr).toContain(outside(f.stateDir));
  expect(r.stderr).toContain(outside(f.path("replica")));
  const json = await f.run(["validate", file, "--policy", policy, "--json"]);
  expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, issues: expect.arrayContaining([expect.objectContaining({ message: `/var/lib/dpkg/info is outside the node's policy (${policy}:2: paths: [/srv])` })]) });
  // apply: refused as a whole, nothing on disk changes.
  const apply = await f.run(["apply", file, "--policy", policy]);
  expect(apply.exitCode).toBe(1);
  expect(apply.stderr).toContain(outside("/var/lib/dpkg/info"));
  await expect(stat(f.stateDir)).rejects.toMatchObject({ code: "ENOENT" });
  await expect(stat(f.path("replica"))).rejects.toMatchObject({ code: "ENOENT" });
  // Without the policy the same manifest is refused only for what rtsync itself refuses.
  const plain = await f.run(["validate", file]);
  expect(plain.stderr).not.toContain("outside the node's policy");
});

test("a policy whose paths admit the manifest lets it validate and apply; `..` cannot step out of a prefix", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-policy" } });
  const port = await freePort();
  const policy = await writePolicy(f, `version: 1\npaths: [${f.dir}]\nsysctl: false\naccounts: [root]\n`);
  const file = await f.writeManifest(loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n" }));
  const ok = await f.run(["validate", file, "--policy", policy]);
  expect(ok.stderr).toBe("");
  expect(ok.exitCode).toBe(0);
  const apply = await f.run(["apply", file, "--policy", policy]);
  expect(apply.exitCode, apply.all).toBe(0);
  const escape = `version: 1\nstateDir: ${f.dir}/../../srv/x\n`;
  const r = await f.run(["validate", await f.writeManifest(escape, "escape.yaml"), "--policy", policy]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`${f.dir}/../../srv/x is outside the node's policy`);
});

test("sysctl: false refuses a manifest with a sysctl section; accounts limit the accounts a daemon runs as", async () => {
  const f = await useFixture();
  const port = await freePort();
  const policy = await writePolicy(f, `version: 1\nsysctl: false\naccounts: [rsync, "rtsync-*"]\n`);
  const text = `${loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: rtsync-data\n", modulesExtra: `      m2: { path: ${f.path("m2")}, hostsAllow: [127.0.0.1], options: { uid: www-data } }\n` })}sysctl:\n  fs.inotify.max_user_watches: 1000\n`;
  const file = await f.writeManifest(text);
  const r = await f.run(["validate", file, "--policy", policy]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toContain(`${at(file, text, "sysctl:")}: sysctl is not allowed by the node's policy (${policy}:2: sysctl: false)`);
  expect(r.stderr).toContain(`${at(file, text, "root\n")}: account "root" is outside the node's policy (${policy}:3: accounts: [rsync, rtsync-*])`);
  expect(r.stderr).toContain(`${at(file, text, "www-data")}: account "www-data" is outside the node's policy`);
  expect(r.stderr).not.toContain(`account "rtsync-data"`);
});

test("a policy file another user could change, a symlinked one or one with an unknown key is refused with one sentence", async () => {
  const f = await useFixture();
  const file = await f.writeManifest(`version: 1\nstateDir: ${f.stateDir}\n`);
  const policy = await writePolicy(f, "version: 1\npaths: [/srv]\n");
  await chown(policy, 65534, 65534);
  const owned = await f.run(["validate", file, "--policy", policy]);
  expect(owned.exitCode).toBe(1);
  expect(owned.stderr).toBe(`rtsync: node policy ${policy} is not trusted: ${policy} is owned by uid 65534; make it root's (chown root ${policy})`);
  await chown(policy, 0, 0);
  await chmod(policy, 0o664);
  const writable = await f.run(["apply", file, "--policy", policy]);
  expect(writable.exitCode).toBe(1);
  expect(writable.stderr).toBe(`rtsync: node policy ${policy} is not trusted: ${policy} is writable by group or others (mode 0664); make it writable by its owner only (chmod go-w ${policy})`);
  await chmod(policy, 0o644);
  await symlink(policy, f.path("link.yaml"));
  const linked = await f.run(["status", file, "--policy", f.path("link.yaml")]);
  expect(linked.stderr).toBe(`rtsync: node policy ${f.path("link.yaml")} is a symbolic link; name the file itself (--policy FILE)`);
  await writeFile(policy, "version: 1\npath: [/srv]\n");
  const typo = await f.run(["validate", file, "--policy", policy]);
  expect(typo.exitCode).toBe(1);
  expect(typo.stderr).toContain(`${policy}:2:1: unknown key "path"`);
  const missing = await f.run(["validate", file, "--policy", f.path("nope.yaml")]);
  expect(missing.stderr).toContain(`cannot read node policy ${f.path("nope.yaml")}`);
});

test("a writable module whose incoming chmod adds setuid is warned about; this machine's rsync passes the version check", async () => {
  const f = await useFixture();
  const port = await freePort();
  const text = loopbackManifest(f, { port, modulesExtra: `      up:\n        path: ${f.path("up")}\n        readOnly: false\n        hostsAllow: [127.0.0.1]\n        options: { incoming chmod: "Du+s,F4755" }\n` });
  const file = await f.writeManifest(text);
  const r = await f.run(["validate", file]);
  expect(r.exitCode).toBe(0);
  expect(r.stderr).toContain(`${at(file, text, '"Du+s')}: warning: incoming chmod "Du+s,F4755" makes files clients upload to the writable module "up" setuid or setgid`);
  expect(r.stderr).not.toContain("older than");
  const json = await f.run(["validate", file, "--json"]);
  expect(JSON.parse(json.stdout)).not.toHaveProperty("rsync");
});
