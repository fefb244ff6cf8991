import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { rtsync } from "../helpers/cli.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";
import { GIT_IDENT, makeGitRemote } from "../helpers/git-remote.ts";

// A manifest committed as a symlink is not followed: `rtsync agent --git` opens the manifest at
// --path, and a relative `password: { file }`, beneath the checkout with no symlink followed. A
// pushed `rtsync.yaml -> /a/root-only/file` is refused unread, and none of the file's text
// reaches /healthz, the log or `rtsync status`; the last good revision keeps running.

const PW = "pw-CONFINED-SECRET-62";
const MARKER = "MARKER-ROOT-ONLY-77";

describe("rtsync agent --git reads only regular files inside the checkout", () => {
  let f: ManifestFixture;
  let port: number;
  let agent: AgentProcess | undefined;
  let bare: string;
  let work: string;
  let checkoutFile: string;
  let rootOnly: string;
  let lastGood = "";
  let good = "";
  const git = async (...args: string[]) => String((await execa("git", ["-C", work, ...args], { env: GIT_IDENT })).stdout).trim();
  const push = async (message: string) => {
    await git("add", "-A");
    await git("commit", "--quiet", "-m", message);
    await git("push", "--quiet", "origin", "HEAD:main");
    return git("rev-parse", "HEAD");
  };
  const manifest = () => loopbackManifest(f, { port, password: "{ file: secrets/demo.pw }", daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n" });
  // Everything the agent has said: /healthz, every log line, stderr.
  const everything = async () => `${(await agent?.get("/healthz"))?.text ?? ""}\n${JSON.stringify(agent?.lines)}\n${agent?.stderr() ?? ""}`;
  const refusedWith = async (revision: string, text: string) =>
    waitFor(async () => {
      const h = await agent?.get("/healthz");
      return h?.status === 503 && h.text.includes(`manifest revision ${revision} was refused`) && h.text.includes(text);
    }, 30_000);

  beforeAll(async () => {
    f = await createFixture();
    port = await freePort();
    bare = f.path("repo.git");
    work = f.path("work");
    checkoutFile = f.path("checkout", "rtsync.yaml");
    rootOnly = f.path("root-only", "shadow");
    await mkdir(f.path("root-only"), { mode: 0o700 });
    await writeFile(rootOnly, `${MARKER}\nroot:$6$${MARKER}HASH:19000:0:99999:7:::\n`, { mode: 0o600 });
    await makeGitRemote(bare, work);
  });
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (!f) return;
    if (lastGood) {
      await writeFile(checkoutFile, lastGood);
      await mkdir(f.path("checkout", "secrets"), { recursive: true });
      await rm(f.path("checkout", "secrets", "demo.pw"), { force: true });
      await writeFile(f.path("checkout", "secrets", "demo.pw"), `${PW}\n`);
      await f.adopt(checkoutFile);
    }
    await f.dispose();
  });

  test("a manifest and a relative password file that are regular files in the checkout converge", async () => {
    await mkdir(`${work}/secrets`);
    await writeFile(`${work}/secrets/demo.pw`, `${PW}\n`);
    await writeFile(`${work}/rtsync.yaml`, manifest());
    good = await push("a daemon, its password beside the manifest");
    agent = await startAgentProcess(["--git", `file://${bare}`, "--checkout", f.path("checkout"), "--interval", "1s"]);
    expect(((await waitForHealth(agent, 200))["revision"] as { revision: string }).revision).toBe(good);
    lastGood = await readFile(checkoutFile, "utf8");
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.secrets`, "utf8").catch(() => "")).toContain(PW);
  });

  test("rtsync.yaml committed as a symlink to a root-only file is refused unread; its text appears nowhere", async () => {
    await rm(`${work}/rtsync.yaml`);
    await symlink(rootOnly, `${work}/rtsync.yaml`);
    const bad = await push("the manifest is a symlink");
    expect(await refusedWith(bad, `${checkoutFile} is a symlink; rtsync reads a manifest only as a regular file in the checkout`)).toBe(true);
    expect(((await waitForHealth(agent as AgentProcess, 503))["revision"] as { revision: string }).revision).toBe(good);
    await agent?.waitForLine((l) => l.level === "error" && l.msg.startsWith(`refused manifest revision ${bad.slice(0, 12)}: ${checkoutFile} is a symlink`));
    // `rtsync status` of the checkout's manifest (a local file is followed: the operator named it) quotes none of it either.
    const status = await rtsync(["status", checkoutFile]);
    expect(status.stderr).toMatch(/invalid|error/);
    expect(`${await everything()}\n${status.stdout}${status.stderr}`).not.toContain(MARKER);
  });

  test("a relative password file committed as a symlink is refused unread; its text appears nowhere", async () => {
    await rm(`${work}/rtsync.yaml`);
    await writeFile(`${work}/rtsync.yaml`, manifest());
    await rm(`${work}/secrets/demo.pw`);
    await symlink(rootOnly, `${work}/secrets/demo.pw`);
    const bad = await push("the password file is a symlink");
    expect(await refusedWith(bad, `${f.path("checkout", "secrets", "demo.pw")} is a symlink; rtsync reads a file a manifest in a checkout names relatively only as a regular file inside the checkout`)).toBe(true);
    expect(await everything()).not.toContain(MARKER);
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.secrets`, "utf8").catch(() => "")).not.toContain(MARKER);
  });

  test("a password file named with .. out of the checkout is refused", async () => {
    await writeFile(`${work}/rtsync.yaml`, manifest().replace("secrets/demo.pw", "../root-only/shadow"));
    await rm(`${work}/secrets/demo.pw`);
    await writeFile(`${work}/secrets/demo.pw`, `${PW}\n`);
    const bad = await push("the password file is outside the checkout");
    expect(await refusedWith(bad, "is not a path inside")).toBe(true);
    expect(await everything()).not.toContain(MARKER);
  });

  test("a password written into a target URL is refused and echoed nowhere: /healthz, the log, validate", async () => {
    const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo:Hunter2-URL-PW@127.0.0.1:${port}/data\n`;
    await writeFile(`${work}/rtsync.yaml`, `${manifest()}${watch}`);
    const bad = await push("a password in a target URL");
    expect(await refusedWith(bad, "holds a password")).toBe(true);
    expect(await everything()).toContain("rsync://demo:***@127.0.0.1");
    expect(await everything()).not.toContain("Hunter2-URL-PW");
    const v = await rtsync(["validate", `${work}/rtsync.yaml`]);
    expect(v.exitCode).not.toBe(0);
    expect(`${v.stdout}${v.stderr}`).toContain("rsync://demo:***@");
    expect(`${v.stdout}${v.stderr}`).not.toContain("Hunter2-URL-PW");
  });

  test("a --git URL's password is not echoed when the fetch fails", async () => {
    const r = await rtsync(["agent", "--git", `https://u1:Hunter2-GIT-PW@127.0.0.1:${await freePort()}/r.git`, "--checkout", f.path("nofetch")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("https://u1:***@127.0.0.1");
    expect(`${r.stdout}${r.stderr}`).not.toContain("Hunter2-GIT-PW");
  });

  test("a regular manifest again converges", async () => {
    await writeFile(`${work}/rtsync.yaml`, manifest());
    const fix = await push("regular files again");
    expect(await waitFor(async () => ((await waitForHealth(agent as AgentProcess, 200, 30_000))["revision"] as { revision: string }).revision === fix, 30_000)).toBe(true);
  });
});
