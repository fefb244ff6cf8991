import { mkdir, stat, writeFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { useAgentProcess, type AgentProcess } from "../helpers/agent.ts";
import { useFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";

// /healthz once it names a refused revision (before the first reconcile it is 503 too).
async function refusedHealth(agent: AgentProcess): Promise<{ status: number; text: string }> {
  let last = { status: 0, text: "" };
  const seen = await waitFor(async () => {
    last = await agent.get("/healthz");
    return last.text.includes("was refused");
  }, 30_000);
  if (!seen) throw new Error(`/healthz never named a refused revision: ${last.status} ${last.text}`);
  return last;
}

// Issue 19 under `rtsync agent`: a revision outside the node policy is refused like an invalid
// manifest (/healthz 503 naming the value and the policy line, nothing applied), and so is one
// whose stateDir another user could change.

test("the agent refuses a manifest outside the node policy: /healthz 503 with the position and the policy line, nothing applied", async () => {
  const f = await useFixture();
  await mkdir(f.path("policy"), { mode: 0o755 });
  const policy = f.path("policy", "policy.yaml");
  await writeFile(policy, "version: 1\npaths: [/srv]\n", { mode: 0o644 });
  const file = await f.writeManifest(`version: 1\nstateDir: ${f.stateDir}\n`);
  const agent = await useAgentProcess([file, "--policy", policy]);
  const health = await refusedHealth(agent);
  expect(health.status).toBe(503);
  expect(health.text).toContain(`${file}:2:11: ${f.stateDir} is outside the node's policy (${policy}:2: paths: [/srv])`);
  await expect(stat(f.stateDir)).rejects.toMatchObject({ code: "ENOENT" });
});

test("the agent refuses a manifest whose stateDir lies below a group-writable directory", async () => {
  const f = await useFixture();
  const shared = f.path("shared");
  await mkdir(shared, { mode: 0o775 });
  const { chmod } = await import("node:fs/promises");
  await chmod(shared, 0o775);
  const file = await f.writeManifest(`version: 1\nstateDir: ${shared}/state\n`);
  const agent = await useAgentProcess([file]);
  const health = await refusedHealth(agent);
  expect(health.status).toBe(503);
  expect(health.text).toContain(`stateDir ${shared}/state: ${shared} is writable by group or others (mode 0775)`);
  await expect(stat(`${shared}/state`)).rejects.toMatchObject({ code: "ENOENT" });
});
