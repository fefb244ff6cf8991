import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { freePort, useFixture } from "../helpers/manifest-fixture.ts";
import { cmdlineOf, daemonPid } from "../helpers/probes.ts";
import { push } from "../helpers/rsync-client.ts";

// Passwords go into the secrets file (0600, root's, `user:password`) and nowhere else: not in any
// output of validate/diff/apply/down, text or --json, not in rsyncd.conf, the inventory, the
// daemon's log or its command line. A password change is a masked diff and needs no restart.

const PW1 = "pw-SECRET-1234";
const PW2 = "pw-SECRET-5678";
const LEAK = /pw-SECRET/;

// Every regular file under `dir`, as path -> content.
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(join(e.parentPath, e.name), await readFile(join(e.parentPath, e.name), "latin1"));
  }
  return out;
}

test("no password in any output, file, log or command line; a password change is masked and needs no restart", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW1 } });
  const port = await freePort();
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
users:
  demo: { password: { env: DEMO_PW } }
daemons:
  d1:
    address: 127.0.0.1
    port: ${port}
    hostsAllow: [127.0.0.1]
    modules:
      data: { path: ${f.path("replica")}, readOnly: false, authUsers: [demo] }
`);
  const secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
  const outputs: Array<{ command: string; all: string }> = [];
  const run = async (args: string[]) => {
    const r = await f.run(args);
    outputs.push({ command: args.join(" "), all: r.all });
    return r;
  };

  const [validate, diffText, diffJson] = await Promise.all([run(["validate", file]), run(["diff", file]), run(["diff", file, "--json"])]);
  expect([validate.exitCode, diffText.exitCode, diffJson.exitCode]).toEqual([0, 2, 2]);
  expect(diffText.stdout).toContain(`+ file ${secrets}: create, mode 0600 (secrets file of daemon d1)\n      users added: demo\n`);
  expect((await run(["apply", file])).exitCode).toBe(0);

  const s = await stat(secrets);
  expect([s.mode & 0o7777, s.uid]).toEqual([0o600, 0]);
  expect(await readFile(secrets, "utf8")).toBe(`demo:${PW1}\n`);

  // Give the daemon's log a good and a failed login to (not) record.
  await mkdir(f.path("src"));
  await writeFile(f.path("src", "a.txt"), "a\n");
  expect((await push({ port, module: "data", user: "demo", password: PW1, sources: [f.path("src", "a.txt")] })).exitCode).toBe(0);
  expect((await push({ port, module: "data", user: "demo", password: "pw-SECRET-wrong", sources: [f.path("src", "a.txt")] })).exitCode).toBe(5);

  // A new password: diff names the user, masked; apply rewrites the file and keeps the daemon.
  const pid = await daemonPid(f.stateDir, "d1");
  f.env["DEMO_PW"] = PW2;
  const [changedText, changedJson] = await Promise.all([run(["diff", file]), run(["diff", file, "--json"])]);
  expect(changedText.exitCode).toBe(2);
  expect(changedText.stdout.split("\n").slice(1)).toEqual([
    `~ file ${secrets}: content (secrets file of daemon d1)`,
    "      passwords changed: demo (********)",
    "Plan: 0 to create, 1 to change, 0 to remove; 3 unchanged.",
  ]);
  expect(JSON.parse(changedJson.stdout)).toMatchObject({
    inSync: false,
    changes: [{ id: `file:${secrets}`, op: "update", details: ["  passwords changed: demo (********)"], resource: { secrets: { added: [], removed: [], changed: ["demo"] } } }],
  });
  const applied = await run(["apply", file, "--json"]);
  expect(applied.exitCode, applied.all).toBe(0);
  expect(JSON.parse(applied.stdout)).toMatchObject({ results: [{ id: `file:${secrets}`, status: "changed" }], summary: { changed: 1, unchanged: 3, failed: 0 } });
  expect(await daemonPid(f.stateDir, "d1")).toBe(pid);
  expect(await readFile(secrets, "utf8")).toBe(`demo:${PW2}\n`);
  expect((await stat(secrets)).mode & 0o7777).toBe(0o600);
  expect((await push({ port, module: "data", user: "demo", password: PW2, sources: [f.path("src", "a.txt")] })).exitCode).toBe(0);
  expect((await push({ port, module: "data", user: "demo", password: PW1, sources: [f.path("src", "a.txt")] })).exitCode).toBe(5);

  const argv = await cmdlineOf(pid);
  expect(argv).toContain("--daemon");
  expect(argv?.join(" ")).not.toMatch(LEAK);

  const files = await filesUnder(f.stateDir);
  expect([...files.keys()]).toEqual(
    expect.arrayContaining([`${f.stateDir}/daemons/d1/rsyncd.conf`, `${f.stateDir}/daemons/d1/rsyncd.log`, `${f.stateDir}/inventory.json`]),
  );
  expect(files.get(`${f.stateDir}/daemons/d1/rsyncd.log`)).toContain("auth failed on module data");
  for (const [path, content] of files) if (path !== secrets) expect(content, path).not.toMatch(LEAK);

  expect((await run(["down", file])).exitCode).toBe(0);
  expect(outputs.map((o) => o.command)).toHaveLength(8);
  for (const o of outputs) expect(o.all, o.command).not.toMatch(LEAK);
});
