import { execa } from "execa";
import { mkdir, readFile, rm, rmdir } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { startAgentProcess, waitForHealth } from "../helpers/agent.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";

// Status documents are written until they are written: a stateDir whose agent directory is made
// immutable (chattr +i) while an agent restarts. The new agent's first writes fail; before the fix
// its status was never written again (the "already written" mark was set before the write), so
// `rtsync status` said "agent: not running" about a running agent for good.

const PW = "pw-STATUSDOC-SECRET-7";

describe("status documents", () => {
  test("a failed write of the agent's status is retried; meanwhile status names the running agent, never 'not running'", async () => {
    const f = await useFixture({ env: { DEMO_PW: PW } });
    const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
    const first = await startAgentProcess([file], { DEMO_PW: PW });
    await waitForHealth(first, 200);
    // Healthy does not wait for the agent's own status document: stop the first agent only once
    // it is written, so the stateDir names a gone agent (under load it may not be there yet).
    const agentStatus = `${f.stateDir}/agent/status.json`;
    expect(await waitFor(async () => (await readFile(agentStatus, "utf8").catch(() => "")).includes(`"pid": ${first.pid}`) || (await readFile(agentStatus, "utf8").catch(() => "")).includes(`"pid":${first.pid}`), 30_000)).toBe(true);
    expect(await first.stop()).toBe(0);
    await f.adopt(file);

    const agentDir = `${f.stateDir}/agent`;
    await execa("chattr", ["+i", agentDir]);
    try {
      // Reconciles every second: once two in a row found nothing to do, nothing new is left to
      // write, so only a retry of the failed write can bring the document up to date.
      const second = await startAgentProcess([file, "--interval", "1s"], { DEMO_PW: PW });
      try {
        await second.waitForLine((l) => l.msg.startsWith("cannot write the agent's status"), 30_000);
        const settled = second.lines.length;
        await second.waitForLine((l) => l.msg.startsWith("cannot write the agent's status") && l["attempt"] === 3, 30_000, settled);
        const during = await f.run(["status", file]);
        expect(during.stdout).toContain(`agent: pid ${first.pid} recorded in the stateDir is gone; \`rtsync agent\` runs as pid ${second.pid}`);
        expect(during.stdout).not.toContain("agent: not running");
        const json = JSON.parse((await f.run(["status", file, "--json"])).stdout) as { agent?: { running: boolean; otherPids?: number[] } };
        expect(json.agent).toMatchObject({ running: false, otherPids: [second.pid] });

        await execa("chattr", ["-i", agentDir]);
        await second.waitForLine((l) => l.msg.startsWith("wrote the agent's status again after"), 60_000);
        expect(JSON.parse(await readFile(`${agentDir}/status.json`, "utf8"))).toMatchObject({ pid: second.pid });
        expect(await waitFor(async () => (await f.run(["status", file])).stdout.includes(`agent: running, pid ${second.pid}`), 10_000)).toBe(true);
        for (const l of second.lines) expect(JSON.stringify(l)).not.toContain(PW);
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await execa("chattr", ["-i", agentDir]);
    }
  });
});

describe("a watcher status that cannot be read", () => {
  // Its status.json made a directory: the watcher's own writes cannot put it back, so every
  // reader meets the same error. Before, each of them read "no document": status called the
  // watcher healthy, apply did not see a halt, and apply's wait gave up silently.
  test("is named by status, restarts the watcher in diff and apply, and fails apply's wait with its reason", async () => {
    const f = await useFixture({ env: { DEMO_PW: PW } });
    await mkdir(f.path("source"));
    const file = await f.writeManifest(`version: 1\nstateDir: ${f.stateDir}\nwatches:\n  push:\n    source: ${f.path("source")}\n    target: ${f.path("copy")}\n`);
    expect((await f.run(["apply", file])).exitCode).toBe(0);
    expect(await waitFor(async () => (await f.run(["status", file])).exitCode === 0, 30_000)).toBe(true);
    const statusFile = `${f.stateDir}/watches/push/status.json`;
    await rm(statusFile);
    await mkdir(statusFile);
    const why = `its status cannot be read: cannot read ${statusFile}: it is a directory`;

    const s = await f.run(["status", file]);
    expect(s.exitCode).toBe(3);
    expect(s.stdout).toContain(`  problem: ${why}\n`);
    const d = await f.run(["diff", file]);
    expect(d.exitCode).toBe(2);
    expect(d.stdout).toMatch(new RegExp(`~ watcher push: restart \\(halted: ${why.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}; pid \\d+\\)`));
    const a = await f.run(["apply", file]);
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toContain(`: failed: the watcher runs, but its status cannot be read: cannot read ${statusFile}: it is a directory\n`);

    await rmdir(statusFile);
    expect((await f.run(["apply", file])).exitCode).toBe(0);
    expect(await waitFor(async () => (await f.run(["status", file])).exitCode === 0, 30_000)).toBe(true);
  });
});
