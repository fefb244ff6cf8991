import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createFixture, freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { canConnect, daemonPid, processRunning } from "../helpers/probes.ts";
import { push } from "../helpers/rsync-client.ts";

// A fresh machine converges with one apply, stays converged, and the daemon it starts serves the
// module to the right user from the right host only. Also: the shape of diff/apply --json.

const PW = "pw-SECRET-1234";
const NODE = hostname().split(".")[0];

function manifest(f: ManifestFixture, port: number): string {
  return loopbackManifest(f, { port });
}

describe("diff and apply on a fresh machine", () => {
  let f: ManifestFixture;
  let file: string;
  let port: number;
  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    file = await f.writeManifest(manifest(f, port));
  });
  afterAll(() => f?.dispose());

  test("diff exits 2, apply converges, diff then exits 0 and a second apply changes nothing", async () => {
    const conf = `${f.stateDir}/daemons/d1/rsyncd.conf`;
    const secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
    const before = await f.run(["diff", file]);
    expect(before.exitCode).toBe(2);
    expect(before.stdout.split("\n").filter((l) => /^[+~-] /.test(l))).toEqual([
      `+ directory ${f.path("replica")}: create owned by nobody:nogroup (module data of daemon d1)`,
      `+ file ${secrets}: create, mode 0600 (secrets file of daemon d1)`,
      `+ file ${conf}: create, mode 0644 (rsyncd.conf of daemon d1)`,
      `+ daemon d1: start rsync --daemon on 127.0.0.1:${port}`,
    ]);
    expect(before.stdout).toContain("Plan: 4 to create, 0 to change, 0 to remove; 0 unchanged.");
    expect(await canConnect(port)).toBe(false);

    const first = await f.run(["apply", file]);
    expect(first.exitCode, first.all).toBe(0);
    expect(first.stdout.split("\n")).toEqual([
      `rtsync apply: ${file} on node ${NODE}`,
      `+ directory ${f.path("replica")}: create owned by nobody:nogroup (module data of daemon d1): done`,
      `+ file ${secrets}: create, mode 0600 (secrets file of daemon d1): done`,
      `+ file ${conf}: create, mode 0644 (rsyncd.conf of daemon d1): done`,
      `+ daemon d1: start rsync --daemon on 127.0.0.1:${port}: done`,
      "4 changed, 0 unchanged, 0 failed",
    ]);
    const pid = await daemonPid(f.stateDir, "d1");
    expect(await processRunning(pid, ["--daemon", `--config=${conf}`])).toBe(true);
    expect(await canConnect(port)).toBe(true);
    expect((await stat(f.path("replica"))).isDirectory()).toBe(true);

    const after = await f.run(["diff", file]);
    expect(after.exitCode, after.all).toBe(0);
    expect(after.stdout).toContain("In sync: 4 resources unchanged.");

    const confBefore = await stat(conf);
    const second = await f.run(["apply", file]);
    expect(second.exitCode, second.all).toBe(0);
    expect(second.stdout.split("\n").slice(1)).toEqual(["0 changed, 4 unchanged, 0 failed"]);
    expect(await daemonPid(f.stateDir, "d1")).toBe(pid);
    // Not even rewritten with the same bytes.
    expect((await stat(conf)).mtimeMs).toBe(confBefore.mtimeMs);
  });

  test("a push with the right password lands in the module; a wrong password and a host outside hostsAllow are refused", async () => {
    const src = f.path("src");
    await mkdir(src);
    await writeFile(`${src}/hello.txt`, "hello\n");
    await writeFile(`${src}/wrong.txt`, "wrong\n");
    await writeFile(`${src}/elsewhere.txt`, "elsewhere\n");

    const ok = await push({ port, module: "data", user: "demo", password: PW, sources: [`${src}/hello.txt`] });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(await readFile(f.path("replica", "hello.txt"), "utf8")).toBe("hello\n");

    const wrong = await push({ port, module: "data", user: "demo", password: "not-the-password", sources: [`${src}/wrong.txt`] });
    expect(wrong.exitCode).toBe(5);
    expect(wrong.stderr).toContain("@ERROR: auth failed on module data");

    const outside = await push({ port, module: "data", user: "demo", password: PW, sources: [`${src}/elsewhere.txt`], from: "127.0.0.2" });
    expect(outside.exitCode).toBe(5);
    // rsyncd names the client by its reverse lookup (UNKNOWN when there is none), then its address.
    expect(outside.stderr).toMatch(/@ERROR: access denied to data from \S+ \(127\.0\.0\.2\)/);

    await expect(stat(f.path("replica", "wrong.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(f.path("replica", "elsewhere.txt"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

test("diff --json and apply --json print one JSON document of a stable shape", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  const file = await f.writeManifest(manifest(f, port));
  const conf = `${f.stateDir}/daemons/d1/rsyncd.conf`;
  const secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
  const ids = [`directory:${f.path("replica")}`, `file:${secrets}`, `file:${conf}`, "daemon:d1"];

  const fresh = await f.run(["diff", file, "--json"]);
  expect(fresh.exitCode).toBe(2);
  const plan = JSON.parse(fresh.stdout) as { changes: unknown[] };
  expect(plan).toMatchObject({ manifest: file, node: NODE, inSync: false, unchanged: [] });
  expect(plan.changes).toMatchObject([
    { id: ids[0], kind: "directory", op: "create", details: [], resource: { path: f.path("replica"), owner: "nobody:nogroup" } },
    { id: ids[1], kind: "file", op: "create", resource: { path: secrets, mode: "0600", secret: "secrets", secrets: { added: ["demo"], removed: [], changed: [] } } },
    { id: ids[2], kind: "file", op: "create", resource: { path: conf, mode: "0644", purpose: "rsyncd.conf of daemon d1" } },
    { id: ids[3], kind: "daemon", op: "create", title: `daemon d1: start rsync --daemon on 127.0.0.1:${port}`, resource: { name: "d1", address: "127.0.0.1", port, config: conf } },
  ]);

  const applied = await f.run(["apply", file, "--json"]);
  expect(applied.exitCode, applied.all).toBe(0);
  const result = JSON.parse(applied.stdout) as { results: Array<{ id: string }> };
  expect(result).toMatchObject({ manifest: file, node: NODE, summary: { changed: 4, unchanged: 0, failed: 0 } });
  expect(result.results).toMatchObject(ids.map((id) => ({ id, status: "changed" })));

  const inSync = await f.run(["diff", file, "--json"]);
  expect(inSync.exitCode).toBe(0);
  expect(JSON.parse(inSync.stdout)).toEqual({ manifest: file, node: NODE, inSync: true, changes: [], unchanged: ids });

  const again = await f.run(["apply", file, "--json"]);
  expect(again.exitCode).toBe(0);
  expect(JSON.parse(again.stdout)).toEqual({ manifest: file, node: NODE, results: [], summary: { changed: 0, unchanged: 4, failed: 0 } });
});
