import { mkdir, readFile, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sampleKey, startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { rtsync } from "../helpers/cli.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, readInventory, waitFor } from "../helpers/probes.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";
import { GIT_IDENT, makeGitRemote } from "../helpers/git-remote.ts";

// GitOps pull: `rtsync agent --git` follows a branch of a real (local, bare) repository with the
// system git. A commit pushed there is converged on the node and reported as the applied revision
// (status, /healthz, metrics); an invalid commit is refused; a repository that cannot be fetched
// at start is exit 1.

const PW = "pw-GIT-SECRET-58";

describe("rtsync agent --git", () => {
  let f: ManifestFixture;
  let port: number;
  let agent: AgentProcess | undefined;
  let bare: string;
  let work: string;
  let checkoutFile: string;
  let lastGood = "";
  const git = async (...args: string[]) => String((await execa("git", ["-C", work, ...args], { env: GIT_IDENT })).stdout).trim();
  // Commits `text` as rtsync.yaml and pushes it; returns the commit id.
  const commit = async (text: string, message: string) => {
    await writeFile(`${work}/rtsync.yaml`, text);
    await git("add", "rtsync.yaml");
    await git("commit", "--quiet", "-m", message);
    await git("push", "--quiet", "origin", "HEAD:main");
    return git("rev-parse", "HEAD");
  };
  const manifest = (more = "", rest = "") =>
    loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", ...(more ? { modulesExtra: more } : {}), rest });
  const revisionOf = async () => ((await waitForHealth(agent as AgentProcess, 200))["revision"] as { revision: string }).revision;

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    bare = f.path("repo.git");
    work = f.path("work");
    checkoutFile = f.path("checkout", "deploy", "rtsync.yaml");
    await makeGitRemote(bare, work);
  });
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (!f) return;
    if (lastGood) {
      await writeFile(checkoutFile, lastGood);
      await f.adopt(checkoutFile);
    }
    await f.dispose();
  });

  test("a repository that cannot be fetched at start: exit 1, one sentence", async () => {
    const r = await rtsync(["agent", "--git", `file://${f.path("nothing-here.git")}`, "--checkout", f.path("nope")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^rtsync: cannot fetch main of file:\/\/.*nothing-here\.git: git fetch in .* failed: /m);
  });

  test("it converges the node to the branch's manifest and reports the commit as the revision", async () => {
    const first = await commit(manifest(), "a daemon");
    agent = await startAgentProcess(["--git", `file://${bare}`, "--ref", "main", "--path", "rtsync.yaml", "--checkout", f.path("checkout", "deploy"), "--interval", "2s"], { DEMO_PW: PW });
    expect(await revisionOf()).toBe(first);
    lastGood = await readFile(checkoutFile, "utf8");
    const s = await rtsync(["status", checkoutFile, "--json"], { env: { ...process.env, DEMO_PW: PW } });
    expect(JSON.parse(s.stdout)).toMatchObject({ sync: "Synced", health: "Healthy", revision: { revision: first, source: { kind: "git", ref: "main", path: "rtsync.yaml" }, result: "converged" } });
  });

  test("a commit pushed to the branch is converged within an interval and becomes the revision", async () => {
    const pid = (await readInventory(f.stateDir)).daemons["d1"]?.pid;
    await mkdir(f.path("source"), { recursive: true });
    await writeFile(f.path("source", "a.txt"), "from the watch added by a commit\n");
    const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n`;
    const second = await commit(manifest(`      more: { path: ${f.path("more")}, readOnly: false, authUsers: [demo] }\n`, watch), "a module and a watch");
    await agent?.waitForLine((l) => l.msg === `git: the ref moved to ${second}`, 30_000);
    expect(await waitFor(async () => (await revisionOf()) === second, 30_000)).toBe(true);
    lastGood = await readFile(checkoutFile, "utf8");
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.conf`, "utf8")).toContain("[more]");
    expect((await readInventory(f.stateDir)).daemons["d1"]?.pid).toBe(pid);
    expect(await processRunning((await readInventory(f.stateDir)).watchers["push"]?.pid ?? 0, ["__host"])).toBe(true);
    await waitForSameTree(f.path("source"), f.path("replica"));
    const m = await agent?.metrics();
    expect(m?.get(sampleKey("rtsync_applied_revision_info", { ref: "main", revision: second, source: "git" }))).toBe(1);
    const doc = JSON.parse(await readFile(`${f.stateDir}/agent/revision.json`, "utf8")) as Record<string, unknown>;
    expect(doc).toMatchObject({ revision: second, node: expect.any(String), result: "converged", source: { kind: "git", url: `file://${bare}`, ref: "main" } });
  });

  test("an invalid commit is refused; the node keeps the last revision it applied", async () => {
    const good = lastGood;
    const bad = await commit(good.replace("version: 1", "version: 2"), "a bad one");
    const body = await waitForHealth(agent as AgentProcess, 503, 30_000);
    expect(JSON.stringify(body["problems"])).toContain(`manifest revision ${bad} was refused`);
    expect((body["revision"] as { revision: string }).revision).not.toBe(bad);
    await commit(good, "revert");
    await waitForHealth(agent as AgentProcess, 200, 30_000);
  });
});
