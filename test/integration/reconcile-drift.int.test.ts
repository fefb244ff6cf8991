import { appendFile, chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { canConnect, daemonPid, processRunning, waitFor } from "../helpers/probes.ts";
import { push } from "../helpers/rsync-client.ts";

// Drift is visible and repaired (a hand edit of rsyncd.conf, a chmod of the secrets file, a killed
// daemon), and apply disturbs the daemon only when it must: a module change keeps it running, a
// port change restarts it. All on one applied manifest, in order. (apply exits 0 only when a fresh
// look after it finds nothing left to change, so each exit 0 here also means "diff is clean".)

const PW = "pw-SECRET-1234";

interface Options {
  readonly port: number;
  readonly modules?: string;
}

function manifest(f: ManifestFixture, o: Options): string {
  return loopbackManifest(f, { port: o.port, ...(o.modules ? { modulesExtra: o.modules } : {}) });
}

describe("drift and minimal disruption", () => {
  let f: ManifestFixture;
  let file: string;
  let port: number;
  let conf: string;
  let secrets: string;
  let src: string;
  let n = 0;

  // Pushes a new file to `module` on `p` and checks it landed: the daemon is up and serving.
  async function expectServing(p: number, module = "data", dir = f.path("replica")): Promise<void> {
    const name = `probe-${++n}.txt`;
    await writeFile(`${src}/${name}`, `${n}\n`);
    const r = await push({ port: p, module, user: "demo", password: PW, sources: [`${src}/${name}`] });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await readFile(`${dir}/${name}`, "utf8")).toBe(`${n}\n`);
  }

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    conf = `${f.stateDir}/daemons/d1/rsyncd.conf`;
    secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
    src = f.path("src");
    await mkdir(src);
    file = await f.writeManifest(manifest(f, { port }));
    const r = await f.run(["apply", file]);
    expect(r.exitCode, r.all).toBe(0);
  });
  afterAll(() => f?.dispose());

  test("a hand edit of rsyncd.conf shows as a content diff and apply puts the file back", async () => {
    const good = await readFile(conf, "utf8");
    await appendFile(conf, "\n[evil]\npath = /\n");
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout.split("\n").filter((l) => /^[+~-] /.test(l))).toEqual([`~ file ${conf}: content (rsyncd.conf of daemon d1)`]);
    expect(d.stdout).toContain("    -[evil]\n    -path = /\n");

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.stdout).toContain(`~ file ${conf}: content (rsyncd.conf of daemon d1): done`);
    expect(a.stdout).toContain("1 changed, 3 unchanged, 0 failed");
    expect(await readFile(conf, "utf8")).toBe(good);
    expect((await stat(conf)).mode & 0o7777).toBe(0o644);
  });

  test("a chmod 0644 of the secrets file shows as a mode change and apply restores 0600", async () => {
    const content = await readFile(secrets, "utf8");
    await chmod(secrets, 0o644);
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout.split("\n").filter((l) => /^[+~-] /.test(l))).toEqual([`~ file ${secrets}: mode 0644 -> 0600 (secrets file of daemon d1)`]);

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.stdout).toContain(`~ file ${secrets}: mode 0644 -> 0600 (secrets file of daemon d1): done`);
    expect((await stat(secrets)).mode & 0o7777).toBe(0o600);
    expect(await readFile(secrets, "utf8")).toBe(content);
  });

  test("a killed daemon shows as one to start and apply starts it again, serving", async () => {
    const pid = await daemonPid(f.stateDir, "d1");
    process.kill(pid, "SIGTERM");
    expect(await waitFor(async () => !(await processRunning(pid)))).toBe(true);
    expect(await waitFor(async () => !(await canConnect(port)))).toBe(true);

    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout.split("\n").filter((l) => /^[+~-] /.test(l))).toEqual([`+ daemon d1: start rsync --daemon on 127.0.0.1:${port} (pid ${pid} is not running)`]);

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.stdout).toContain(`+ daemon d1: start rsync --daemon on 127.0.0.1:${port} (pid ${pid} is not running): done`);
    const again = await daemonPid(f.stateDir, "d1");
    expect(again).not.toBe(pid);
    expect(await processRunning(again, ["--daemon", `--config=${conf}`])).toBe(true);
    await expectServing(port);
  });

  test("a module change (a comment, a second module) rewrites rsyncd.conf without restarting the daemon", async () => {
    const pid = await daemonPid(f.stateDir, "d1");
    await f.writeManifest(
      manifest(f, { port, modules: `      more: { path: ${f.path("more")}, comment: second module, readOnly: false, authUsers: [demo] }\n` }),
    );
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout.split("\n").filter((l) => /^[+~-] /.test(l))).toEqual([
      `+ directory ${f.path("more")}: create owned by nobody:nogroup (module more of daemon d1)`,
      `~ file ${conf}: content (rsyncd.conf of daemon d1)`,
    ]);

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.stdout).toContain("2 changed, 3 unchanged, 0 failed");
    expect(a.stdout.split("\n").filter((l) => l.includes("daemon d1:"))).toEqual([]);
    expect(await daemonPid(f.stateDir, "d1")).toBe(pid);
    expect(await processRunning(pid)).toBe(true);
    // The running daemon serves the new module: rsyncd re-reads its config on every connection.
    await expectServing(port, "more", f.path("more"));
    await expectServing(port);
  });

  test("a port change restarts the daemon on the new port and closes the old one", async () => {
    const pid = await daemonPid(f.stateDir, "d1");
    const newPort = await freePort();
    await f.writeManifest(manifest(f, { port: newPort }));
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toContain(`~ daemon d1: restart on 127.0.0.1:${newPort} (start-up settings changed; pid ${pid})\n      - port = ${port}\n      + port = ${newPort}\n`);

    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    expect(a.stdout).toContain(`~ daemon d1: restart on 127.0.0.1:${newPort} (start-up settings changed; pid ${pid}): done`);
    const again = await daemonPid(f.stateDir, "d1");
    expect(again).not.toBe(pid);
    expect(await processRunning(pid)).toBe(false);
    expect(await canConnect(port)).toBe(false);
    expect(await canConnect(newPort)).toBe(true);
    await expectServing(newPort);
  });
});
