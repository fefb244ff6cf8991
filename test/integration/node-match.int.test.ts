import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { expect, test } from "vitest";
import { useAgentProcess } from "../helpers/agent.ts";
import { waitFor } from "../helpers/probes.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";

// `--node inotify-mastre` (a typo) matches none of the manifest's nodes: lists. It used to apply
// nothing and report success and health. Now validate, diff, apply and status warn, naming the
// nodes the manifest knows; apply still exits 0 (a machine may have no role), status exits 3, and
// the agent's /healthz answers 503.

test("a --node that matches nothing is warned about everywhere and unhealthy in status and /healthz", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-NODE-1" } });
  await mkdir(f.path("source"));
  const port = await freePort();
  const yaml = loopbackManifest(f, {
    port,
    daemonExtra: "    nodes: [inotify-slave]\n",
    rest: `watches:\n  push:\n    nodes: [inotify-master]\n    source: ${f.path("source")}\n    target: ${f.path("copy")}\n`,
  });
  const file = await f.writeManifest(yaml);
  const line = yaml.split("\n").findIndex((l) => l.includes("nodes: [inotify-slave]")) + 1;
  const warning = `${file}:${line}:5: warning: node "inotify-mastre" matches none of the manifest's nodes: lists (it knows "inotify-master", "inotify-slave"), so nothing runs here; did you mean "inotify-master"? (pass --node with one of them, or add "inotify-mastre" to a nodes: list)`;

  for (const command of ["validate", "diff", "apply"]) {
    const r = await f.run([command, file, "--node", "inotify-mastre"]);
    expect(r.exitCode, `${command}: ${r.all}`).toBe(0);
    expect(r.stderr.split("\n"), command).toContain(warning);
  }
  const s = await f.run(["status", file, "--node", "inotify-mastre"]);
  expect(s.exitCode).toBe(3);
  expect(s.stdout).toContain('problem: node "inotify-mastre" matches none of the manifest\'s nodes: lists');
  expect(s.stdout.trim().split("\n").at(-1)).toBe("UNHEALTHY");
  const j = JSON.parse((await f.run(["status", file, "--node", "inotify-mastre", "--json"])).stdout) as { healthy: boolean; health: string; warnings: Array<{ message: string }> };
  expect(j).toMatchObject({ healthy: false, health: "Degraded" });
  expect(j.warnings.map((w) => w.message)).toContainEqual(expect.stringContaining('node "inotify-mastre" matches none'));
  // The right name is neither warned about nor unhealthy.
  const ok = await f.run(["validate", file, "--node", "inotify-master"]);
  expect(ok.stderr).not.toContain("matches none");

  const agent = await useAgentProcess([file, "--node", "inotify-mastre"], { DEMO_PW: "pw-NODE-1" });
  await waitFor(async () => (await agent.get("/healthz")).text.includes("matches none"), 20_000);
  const h = await agent.get("/healthz");
  expect(h.status).toBe(503);
  expect((JSON.parse(h.text) as { problems: Array<{ message: string }> }).problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/^node "inotify-mastre" matches none of the manifest's nodes: lists/));
  await agent.waitForLine((l) => l.level === "warn" && l.msg === warning.replace(/^.*?: warning: /, `${file}:${line}:5: warning: `));
  expect(await agent.stop()).toBe(0);
});

test("apply --node with no match creates no stateDir; a stateDir it has keeps being pruned", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-NODE-2" } });
  const yaml = loopbackManifest(f, { port: await freePort(), daemonExtra: "    nodes: [inotify-slave]\n" });
  const file = await f.writeManifest(yaml);
  const r = await f.run(["apply", file, "--node", "inotify-slaev"]);
  expect(r.exitCode, r.all).toBe(0);
  expect(r.stdout).toBe("rtsync apply: nothing runs on node inotify-slaev; 0 changed, 0 unchanged, 0 failed");
  expect(existsSync(f.stateDir)).toBe(false);
  const j = await f.run(["apply", file, "--node", "inotify-slaev", "--json"]);
  expect(JSON.parse(j.stdout)).toMatchObject({ summary: { changed: 0, unchanged: 0, failed: 0 } });
  expect(existsSync(f.stateDir)).toBe(false);
  // The node ran the daemon once: taken off its list, the daemon is pruned as before.
  expect((await f.run(["apply", file, "--node", "inotify-slave"])).exitCode).toBe(0);
  await f.writeManifest(yaml.replace("nodes: [inotify-slave]", "nodes: [elsewhere]"));
  const prune = await f.run(["apply", file, "--node", "inotify-slave"]);
  expect(prune.exitCode, prune.all).toBe(0);
  expect(prune.stdout).toMatch(/^- daemon d1: stop /m);
});

test("a --node other than this machine's on a manifest without nodes: lists is warned about", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-NODE-3" } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  const warning = `${file}:1:1: warning: --node "web-1" selects nothing: the manifest has no nodes: lists, so every daemon and watch runs on every node ("web-1" included, this machine is "${hostname().split(".")[0]}")`;
  for (const command of ["validate", "diff"]) {
    const r = await f.run([command, file, "--node", "web-1"]);
    expect(r.stderr.split("\n"), command).toContain(warning);
  }
  // This machine's own name, or no --node: no warning.
  expect((await f.run(["diff", file, "--node", hostname().split(".")[0] ?? ""])).stderr).not.toContain("selects nothing");
  expect((await f.run(["diff", file])).stderr).not.toContain("selects nothing");
});
