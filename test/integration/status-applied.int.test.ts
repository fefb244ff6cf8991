import { execa } from "execa";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { readAppliedRevision } from "../../src/state/agent-revision.ts";
import { stateLayout } from "../../src/state/layout.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { rtsync } from "../helpers/cli.ts";
import { makeGitRemote, type GitRemote } from "../helpers/git-remote.ts";
import { waitFor } from "../helpers/temp-tree.ts";
import { createFixture, freePort, loopbackManifest, makeTempDir, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { rm } from "node:fs/promises";

// `rtsync status` describes what the agent applied when the file on disk is not it: an invalid
// edit (the agent refuses it and goes on running the last good one), a stale local copy under
// --git, or no manifest given at all (the agent's checkout is its own). Exit 3 when the file is
// not what runs, never 1 for a file the agent refused.

const PW = "pw-STATUS-APPLIED-7";

describe("status reads what the agent applied", () => {
  let f: ManifestFixture;
  let port: number;
  let agent: AgentProcess | undefined;
  let remote: GitRemote;
  let checkoutFile: string;
  let empty: string;
  const env = { ...process.env, DEMO_PW: PW };

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    remote = await makeGitRemote(f.path("repo.git"), f.path("work"));
    checkoutFile = f.path("checkout", "rtsync.yaml");
    empty = await makeTempDir("rtsync-no-manifest-");
  });
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    await rm(empty, { recursive: true, force: true });
    if (!f) return;
    try {
      // What the git test's agent applied (absent when that test did not get so far).
      if (existsSync(checkoutFile)) await f.adopt(checkoutFile);
    } finally {
      await f.dispose();
    }
  });

  test("under --git: no path needed; a stale copy and an invalid file are named, exit 3", async () => {
    const good = loopbackManifest(f, { port });
    await writeFile(f.path("work", "rtsync.yaml"), good);
    await remote.git("add", "rtsync.yaml");
    await remote.git("commit", "--quiet", "-m", "a daemon");
    await remote.git("push", "--quiet", "origin", "HEAD:main");
    const commit = await remote.git("rev-parse", "HEAD");
    agent = await startAgentProcess(["--git", `file://${remote.bare}`, "--checkout", f.path("checkout"), "--interval", "2s"], { DEMO_PW: PW });
    await waitForHealth(agent, 200);

    // No manifest here: the agent's record in the stateDir is enough.
    const plain = await rtsync(["status", "--state-dir", f.stateDir, "--json"], { cwd: empty, env });
    expect(plain.exitCode, plain.all).toBe(0);
    const doc = JSON.parse(plain.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ manifest: checkoutFile, healthy: true, revision: { revision: commit }, daemons: [{ name: "d1", running: true }] });
    expect(doc).not.toHaveProperty("manifestProblems");
    expect(plain.all).not.toContain(PW);

    // A local copy older than what the agent runs (another port): stale, described from the agent's revision.
    const stale = await f.writeManifest(loopbackManifest(f, { port: port + 1 }), "old-copy.yaml");
    const s = await rtsync(["status", stale], { env });
    expect(s.exitCode, s.all).toBe(3);
    expect(s.stdout).toContain(`manifest: ${stale} is not what the agent runs (it differs from commit ${commit.slice(0, 12)} of file://${remote.bare} (main, rtsync.yaml), applied at `);
    expect(s.stdout).toMatch(new RegExp(`daemon d1: running, pid \\d+  127\\.0\\.0\\.1:${port}`));

    // The checkout's file made invalid by hand: status shows the revision the agent runs and why, exit 3 (not 1).
    await writeFile(checkoutFile, `${good}  bad: [\n`);
    const bad = await rtsync(["status", checkoutFile], { env });
    expect(bad.exitCode, bad.all).toBe(3);
    expect(bad.stdout).toContain(`manifest: ${checkoutFile} is invalid (1 error) (${checkoutFile}:`);
    expect(bad.stdout).toContain(`; showing what the agent applied: commit ${commit.slice(0, 12)} of file://${remote.bare}`);
    expect(bad.stdout).toMatch(/daemon d1: running, pid \d+/);
    await writeFile(checkoutFile, good);
  });

  // An agent (the only one) on a manifest file of its own, reconciling every 2 s.
  const agentOnOwnFile = async (): Promise<{ file: string; running: AgentProcess }> => {
    if (agent) await agent.stop();
    agent = undefined;
    const file = await f.writeManifest(loopbackManifest(f, { port }), "own.yaml");
    await f.adopt(file); // taken down at the end, pass or fail
    const running = (agent = await startAgentProcess([file, "--interval", "2s"], { DEMO_PW: PW }));
    await waitForHealth(running, 200);
    return { file, running };
  };

  test("a manifest file made invalid while the agent runs it: status shows the last good one, exit 3", async () => {
    const { file, running } = await agentOnOwnFile();
    const good = await readFile(file, "utf8");
    await writeFile(file, `${good}oops: [\n`);
    await running.waitForLine((l) => l.msg.startsWith("refused manifest revision"), 30_000);
    const r = await rtsync(["status", file, "--json"], { env });
    expect(r.exitCode, r.all).toBe(3);
    const doc = JSON.parse(r.stdout) as { manifestProblems: string[]; daemons: Array<{ running: boolean }> };
    expect(doc.manifestProblems).toEqual([expect.stringMatching(new RegExp(`^${file} is invalid \\(1 error\\) \\(${file}:\\d+:\\d+: .*\\); showing what the agent applied: revision [0-9a-f]{12} of ${file}, applied at `))]);
    expect(doc.daemons).toMatchObject([{ running: true }]);
    await writeFile(file, good);
  });

  test("the agent's record of what it applied damaged: status cannot tell what runs (exit 3); the agent writes the record again", async () => {
    const { file } = await agentOnOwnFile();
    const record = stateLayout.agentRevision(f.stateDir);
    const revision = (await readAppliedRevision(f.stateDir))?.revision;
    expect(revision).toBeDefined();
    await writeFile(record, "{ not json");
    // Immutable while status looks: the agent would write it again at its next reconcile.
    await execa("chattr", ["+i", record]);
    try {
      const r = await rtsync(["status", file, "--json"], { env });
      expect(r.exitCode, r.all).toBe(3);
      const doc = JSON.parse(r.stdout) as { manifestProblems: string[] };
      expect(doc.manifestProblems).toEqual([`cannot tell what the agent runs: ${record} is not an rtsync applied-revision record (it is not valid JSON: Expected property name or '}' in JSON at position 2); the agent writes it again after its next reconcile; remove it if no agent runs`]);
    } finally {
      await execa("chattr", ["-i", record]);
    }
    // Its next reconcile (every 2 s) finds the record is not what it wrote (this agent took over the
    // record its predecessor in the test before wrote, by writing it once at its start).
    await waitFor(async () => (await readAppliedRevision(f.stateDir).catch(() => undefined))?.revision === revision || "not written again yet", 20_000);
    const again = await rtsync(["status", file], { env });
    expect(again.exitCode, again.all).toBe(0);
  });
});
