import { mkdir, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { BIN, rtsync } from "../helpers/cli.ts";
import { freePort, loopbackManifest, runAsNobody, useFixture } from "../helpers/manifest-fixture.ts";

// Failures a user can cause or meet, each one sentence naming the file or the fix with the
// contract's exit code, never "internal error" and never a stack trace (issue 9).

const PW = "pw-CLI-ERRORS-SECRET-12";
const noStack = (text: string) => expect(text).not.toMatch(/^\s+at |internal error/m);

test.each([
  ["garbage", "it is not valid JSON: "],
  ['{"version":1,"daemons":{', "it is not valid JSON: "],
  ['{"version":2}', "version: "],
  ["", "it is empty"],
])("a corrupt inventory.json (%j) is a warning naming the file, and apply rebuilds it", async (content, why) => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  await mkdir(f.stateDir, { recursive: true });
  const inventory = `${f.stateDir}/inventory.json`;
  await writeFile(inventory, content);
  for (const command of ["diff", "status", "apply"]) {
    const r = await f.run([command, file]);
    expect(r.exitCode, `${command}: ${r.all}`).toBe(command === "diff" ? 2 : command === "status" ? 3 : 0);
    expect(r.stderr).toContain(`rtsync: warning: ${inventory} is not an rtsync inventory (${why}`);
    expect(r.stderr).toContain("rebuilding it from the running processes that carry rtsync's marker");
    noStack(r.all);
  }
  expect((await f.run(["diff", file])).all).not.toContain("warning");
});

test("an inventory that cannot be read at all is one sentence naming it, exit 1", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  await mkdir(`${f.stateDir}/inventory.json`, { recursive: true });
  for (const command of ["diff", "apply", "status", "down"]) {
    const r = await f.run([command, file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(`rtsync: cannot read ${f.stateDir}/inventory.json: it is a directory`);
  }
});

test("a read-only stateDir: apply says so and how to fix it", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  await mkdir(f.stateDir, { recursive: true });
  await execa("mount", ["--bind", f.stateDir, f.stateDir]);
  onTestFinished(() => execa("umount", [f.stateDir]).then(() => undefined));
  await execa("mount", ["-o", "remount,bind,ro", f.stateDir]);
  const r = await f.run(["apply", file]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr.trim()).toBe(`rtsync: cannot lock ${f.stateDir}/apply.lock: the file system is read-only; set stateDir in the manifest to a writable directory`);
  noStack(r.all);
});

test("a reader that goes away (`rtsync diff | head -1`) is no error: no stack trace, the command's own exit code", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  const r = await execa("bash", ["-o", "pipefail", "-c", `node ${BIN} diff ${file} | head -1`], { reject: false, env: { ...process.env, DEMO_PW: PW } });
  expect(r.stdout).toBe(`rtsync diff: ${file} on node ${r.stdout.split(" ").at(-1) ?? ""}`);
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(2); // drift, as diff says without the pipe
});

test("not root, a daemon on port 873: the port is privileged, not 'in use'", async () => {
  const f = await useFixture();
  await writeFile(f.path("pw"), `${PW}\n`);
  await execa("chown", ["-R", "65534:65534", f.dir]);
  const manifest = loopbackManifest(f, { port: 873, password: `{ file: ${f.path("pw")} }` });
  const file = await f.writeManifest(manifest);
  await execa("chown", ["65534:65534", file]);
  const r = await runAsNobody(["diff", file]);
  expect(r.stdout).toContain("! cannot be applied: port 873 is privileged: only root may listen on it; run apply as root, or choose a port of 1024 or above");
  expect(r.all).not.toContain("in use");
  expect(r.exitCode).toBe(1);
});

test("--json: an invalid manifest is a JSON document on stdout with every issue; warnings travel in the document", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const bad = await f.writeManifest("version: 1\ndaemons:\n  d1:\n    port: 99999\n    bogus: 1\n", "bad.yaml");
  for (const command of ["diff", "apply", "status", "down"]) {
    const r = await f.run([command, bad, "--json"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: "E_MANIFEST",
        message: `${bad} is invalid (2 errors); nothing was changed`,
        issues: [
          { severity: "error", file: bad, line: 4, col: 11, message: "port must be at most 65535" },
          { severity: "error", file: bad, line: 5, col: 5, message: expect.stringMatching(/^unknown key "bogus" in daemons\.d1; expected one of: nodes, /) },
        ],
      },
    });
  }
  const missing = await rtsync(["status", f.path("nope.yaml"), "--json"]);
  expect(missing.exitCode).toBe(1);
  expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: "E_MANIFEST", message: expect.stringContaining("cannot read manifest") } });

  const port = await freePort();
  const warned = await f.writeManifest(loopbackManifest(f, { port, password: `{ value: ${PW} }` }));
  const d = await f.run(["diff", warned, "--json"]);
  expect(d.exitCode).toBe(2);
  expect(JSON.parse(d.stdout)).toMatchObject({ inSync: false, warnings: [{ severity: "warning", message: expect.stringContaining("inline password") }] });
  expect(d.stderr).toBe("");
});

test("validate and down take --json and --node; every command's help ends with examples and says its default once", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const watch = `watches:\n  push:\n    nodes: [master]\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n`;
  const file = await f.writeManifest(loopbackManifest(f, { port, daemonExtra: "    nodes: [slave]\n", rest: watch }));

  const v = await f.run(["validate", file, "--node", "slave"]);
  expect(v.exitCode).toBe(0);
  expect(v.stdout).toBe(`${file}: valid: 1 daemon, 1 module, 1 user, 1 watch\nnode slave runs: daemons d1`); // the watch runs on master only
  const vj = await f.run(["validate", file, "--node", "master", "--json"]);
  expect(JSON.parse(vj.stdout)).toEqual({
    file,
    valid: true,
    summary: "1 daemon, 1 module, 1 user, 1 watch",
    node: "master",
    runs: "watches push",
    eventSources: [{ name: "push", source: "inotify", why: "auto: rtsync's inotify addon is built" }],
    issues: [],
  });

  expect((await f.run(["apply", file, "--node", "slave"])).exitCode).toBe(0);
  const down = await f.run(["down", file, "--node", "slave", "--json"]);
  expect(down.exitCode).toBe(0);
  expect(JSON.parse(down.stdout)).toMatchObject({ manifest: file, node: "slave", results: [{ kind: "daemon", name: "d1", ok: true, message: expect.stringMatching(/^stopped pid \d+$/) }] });

  for (const command of ["validate", "diff", "apply", "status", "down", "schema"]) {
    const help = await rtsync([command, "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/\nExamples:\n( {2}\$ .*rtsync .+\n?){1,3}$/);
    expect(help.stdout.match(/default: "rtsync\.yaml"/g)?.length ?? 0).toBe(command === "schema" ? 0 : 1);
  }
});
