import { chmod, lchown, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { expect, test } from "vitest";
import { readWatchSpec } from "../../src/state/watch-spec.ts";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { readInventory } from "../helpers/probes.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";

// rtsync runs as root (issue 13, the runtime half): it writes through no link it did not expect,
// gives its children a built environment without the password, never touches a pid file that is
// not one, and runs the rsync a safe PATH gives it. Each attack is tried for real.

const PW = "pw-CANARY-HARDENING-7731";

function watchManifest(f: ManifestFixture, port: number, extra: { daemon?: string; modules?: string } = {}): string {
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n    fullSync: { schedule: "0 0 1 1 *" }\n`;
  return loopbackManifest(f, { port, daemonExtra: `    uid: root\n    gid: root\n    useChroot: true\n${extra.daemon ?? ""}`, modulesExtra: extra.modules ?? "", rest: watch });
}

// Every file under `dir` whose content holds `needle` (the files that must hold it excepted).
async function filesHolding(dir: string, needle: string, allowed: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || allowed.has(file)) continue;
    if ((await readFile(file, "latin1")).includes(needle)) out.push(file);
  }
  return out;
}

test("the password is in no process environment, no rsyncd %VAR% expansion, no output and no file but the two that hold it", async () => {
  // LEAKME holds the password too, unknown to the manifest (validate refuses %VAR% of a password variable it knows).
  const f = await useFixture({ env: { DEMO_PW: PW, LEAKME: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  await writeFile(f.path("source", "a.txt"), "a\n");
  // rsyncd expands %VAR% in config values from its environment: a listed module shows its comment.
  const modules = `      leak: { path: ${f.path("leak")}, list: true, comment: "x%LEAKME%x" }\n`;
  const file = await f.writeManifest(watchManifest(f, port, { modules }));
  const outputs = [
    await f.run(["validate", file, "--json"]),
    await f.run(["diff", file]),
    await f.run(["apply", file]),
    await f.run(["status", file]),
    await f.run(["status", file, "--json"]),
    await f.run(["diff", file, "--json"]),
  ];
  await waitForSameTree(f.path("source"), f.path("replica"));
  outputs.push(await f.run(["verify", file]), await f.run(["verify", file, "--json"]));
  // And the failure cases: a password variable that is not set, a password that is refused.
  outputs.push(await f.run(["diff", file], { env: { ...process.env, DEMO_PW: "", LEAKME: PW } }));
  outputs.push(await f.run(["apply", file, "--json"], { env: { ...process.env, DEMO_PW: `${PW}\nroot:x`, LEAKME: PW } }));
  await writeFile(f.path("source", "b.txt"), "b\n"); // an incremental run: its rsync child too
  await waitForSameTree(f.path("source"), f.path("replica"));

  const inv = await readInventory(f.stateDir);
  const roots = [inv.daemons["d1"]?.pid, inv.watchers["push"]?.pid].filter((p): p is number => p !== undefined);
  expect(roots).toHaveLength(2);
  // The daemon, the watcher, and whatever runs under them.
  const pids = new Set(roots);
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (pids.has(ppid)) pids.add(Number(entry));
  }
  for (const pid of pids) {
    const environ = await readFile(`/proc/${pid}/environ`, "latin1").catch(() => "");
    expect(environ, `pid ${pid}`).not.toContain(PW);
    expect(environ.split("\0")).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  }
  const listing = await execa("rsync", [`rsync://127.0.0.1:${port}/`], { reject: false });
  expect(listing.stdout).toContain("leak");
  expect(listing.stdout + listing.stderr).not.toContain(PW);
  for (const o of outputs) expect(o.all).not.toContain(PW);
  const allowed = new Set([`${f.stateDir}/daemons/d1/rsyncd.secrets`, `${f.stateDir}/watches/push/password`]);
  expect(await filesHolding(f.dir, PW, allowed)).toEqual([]);
});

test("a link planted where a secret goes, or a parent linked by another user, is never written through", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  // A world-writable directory: another user plants a link where the secrets file will go.
  const open = f.path("open");
  await mkdir(open, { recursive: true });
  await chmod(open, 0o1777);
  const victim = f.path("victim.conf");
  await writeFile(victim, "precious\n", { mode: 0o644 });
  await symlink(victim, path.join(open, "rsyncd.secrets"));
  // And a parent of a module directory that is a link another user made, pointing at a root-owned tree.
  const protectedDir = f.path("protected");
  await mkdir(path.join(protectedDir, "data"), { recursive: true });
  await symlink(protectedDir, f.path("userlink"));
  await lchown(f.path("userlink"), 65534, 65534);
  const text = loopbackManifest(f, { port, daemonExtra: `    secretsFile: ${open}/rsyncd.secrets\n`, modulesExtra: `      other: { path: ${f.path("userlink")}/data, readOnly: false }\n` });
  const file = await f.writeManifest(text);

  const d = await f.run(["diff", file]);
  expect(d.stdout).toContain(`! cannot be applied: ${open}/rsyncd.secrets is a symbolic link; rtsync does not write through links: remove it, or choose another path`);
  expect(d.stdout).toContain(`! cannot be applied: ${f.path("userlink")} is a symbolic link owned by uid 65534; rtsync does not follow links it did not expect: use the real path`);
  const a = await f.run(["apply", file]);
  expect(a.exitCode).toBe(1);
  expect(await readFile(victim, "utf8")).toBe("precious\n");
  expect((await stat(path.join(protectedDir, "data"))).uid).toBe(0);
  expect((await lstat(path.join(open, "rsyncd.secrets"))).isSymbolicLink()).toBe(true);
});

test("a secret in a directory other users can write is a warning", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const open = f.path("open");
  await mkdir(open, { recursive: true });
  await chmod(open, 0o1777);
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort(), daemonExtra: `    secretsFile: ${open}/rsyncd.secrets\n` }));
  const d = await f.run(["diff", file]);
  expect(d.stderr).toContain(`rtsync: warning: ${open}/rsyncd.secrets (secrets file of daemon d1) holds a secret in a directory other users can write; move it to a directory only root can write`);
});

test("a pidFile that names a file which is not a pid file is refused, and the file is left alone", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const precious = f.path("precious.txt");
  await writeFile(precious, "not a pid\n");
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort(), daemonExtra: `    pidFile: ${precious}\n` }));
  const d = await f.run(["diff", file]);
  expect(d.stdout).toContain(`! cannot be applied: pidFile ${precious} exists and is not a pid file; rtsync will neither delete it nor let rsyncd overwrite it: choose another pidFile`);
  expect((await f.run(["apply", file])).exitCode).toBe(1);
  expect(await readFile(precious, "utf8")).toBe("not a pid\n");
});

test("the rsync a watcher runs comes from a safe PATH: not from '.', not from a directory others can write", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const evil = f.path("evil");
  await mkdir(evil, { recursive: true });
  await writeFile(path.join(evil, "rsync"), "#!/bin/sh\necho owned > /tmp/rtsync-owned\n", { mode: 0o755 });
  await chmod(evil, 0o777);
  const file = await f.writeManifest(watchManifest(f, port));
  const a = await f.run(["apply", file], { cwd: evil, env: { ...process.env, DEMO_PW: PW, PATH: `:.:${evil}:${process.env["PATH"] ?? ""}` } });
  expect(a.exitCode, a.all).toBe(0);
  const spec = await readWatchSpec(`${f.stateDir}/watches/push/spec.json`);
  expect(spec.rsync).not.toContain(evil);
  expect(path.isAbsolute(spec.rsync)).toBe(true);
});
