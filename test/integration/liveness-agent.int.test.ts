import { execa } from "execa";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostFiles, stateLayout } from "../../src/state/layout.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sampleKey, startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, readInventory, waitFor } from "../helpers/probes.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";

// Health is liveness, not a pid that exists: a SIGSTOPped watcher (its pid alive, its heartbeat
// stopped) takes /healthz out of 200 within 10 s and back within 10 s of SIGCONT; one stopped
// longer than the grace (30 s) is replaced by the agent. Real agent, real rsyncd, real watcher.

const PW = "pw-LIVENESS-SECRET-18";

function manifest(f: ManifestFixture, port: number): string {
  return loopbackManifest(f, {
    port,
    daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n",
    rest: `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    fullSync: { schedule: "0 0 1 1 *" }
`,
  });
}

// SIGCONT in every case: a stopped process must never outlive the test.
function resume(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGCONT");
  } catch {
    // gone
  }
}

describe("liveness under rtsync agent", () => {
  let f: ManifestFixture;
  let file: string;
  let agent: AgentProcess;
  let daemonPort = 0;
  const watcherPid = async () => (await readInventory(f.stateDir)).watchers["push"]?.pid;
  const watchersOf = (body: Record<string, unknown>) => body["watchers"] as Array<{ id: string; health: string; problem?: string }>;

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    const port = (daemonPort = await freePort());
    await mkdir(f.path("source"), { recursive: true });
    await writeFile(f.path("source", "existing.txt"), "was there before\n");
    file = await f.writeManifest(manifest(f, port));
    agent = await startAgentProcess([file], { DEMO_PW: PW });
    await waitForHealth(agent, 200);
  });
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (!f) return;
    await f.adopt(file);
    await f.dispose();
  });

  test("a watcher SIGSTOPped: /healthz leaves 200 within 10 s (not responding, rtsync_watch_up 0, status exits 3); SIGCONT: back within 10 s", async () => {
    const pid = await watcherPid();
    if (pid === undefined) throw new Error("no watcher");
    process.kill(pid, "SIGSTOP");
    try {
      const body = await waitForHealth(agent, 503, 10_000);
      const w = watchersOf(body).find((x) => x.id === "watcher:push");
      expect(w?.health).toBe("Degraded");
      expect(w?.problem).toMatch(/^not responding since \S+: no heartbeat for \d+ s \(the process is stopped or stuck\); the agent replaces it after 30 s without one$/);
      expect((await agent.metrics()).get(sampleKey("rtsync_watch_up", { watch: "push", target: `rsync://127.0.0.1:${daemonPort}/data` }))).toBe(0);
      const status = await f.run(["status", file]);
      expect(status.exitCode).toBe(3);
      expect(status.stdout).toContain("not responding since");
      expect(await processRunning(pid, ["__host"])).toBe(true); // the pid was there all along
    } finally {
      resume(pid);
    }
    await waitForHealth(agent, 200, 10_000);
    expect((await agent.metrics()).get(sampleKey("rtsync_watch_up", { watch: "push", target: `rsync://127.0.0.1:${daemonPort}/data` }))).toBe(1);
    expect(await watcherPid()).toBe(pid); // a short stop is not replaced
  });

  test("the daemon SIGSTOPped: /healthz leaves 200 within 10 s (does not greet, rtsync_daemon_up 0); SIGCONT: back within 10 s", async () => {
    const pid = (await readInventory(f.stateDir)).daemons["d1"]?.pid;
    if (pid === undefined) throw new Error("no daemon");
    process.kill(pid, "SIGSTOP");
    try {
      const body = await waitForHealth(agent, 503, 10_000);
      const d = (body["daemons"] as Array<{ id: string; health: string; problem?: string }>).find((x) => x.id === "daemon:d1");
      expect(d?.health).toBe("Degraded");
      expect(d?.problem).toMatch(/^not responding: accepts connections on port \d+ but has not greeted within 2 s \(no @RSYNCD: line; the process is stopped or stuck\)$/);
      expect((await agent.metrics()).get(sampleKey("rtsync_daemon_up", { daemon: "d1" }))).toBe(0);
      const status = await f.run(["status", file]);
      expect(status.exitCode).toBe(3);
      expect(status.stdout).toContain("has not greeted within 2 s");
      expect(await processRunning(pid, ["--daemon"])).toBe(true);
    } finally {
      resume(pid);
    }
    await waitForHealth(agent, 200, 10_000);
    expect((await agent.metrics()).get(sampleKey("rtsync_daemon_up", { daemon: "d1" }))).toBe(1);
  });

  test("the daemon stopped past the grace is replaced (SIGKILL, a new daemon), and what was written meanwhile arrives", async () => {
    const daemonPid = async () => (await readInventory(f.stateDir)).daemons["d1"]?.pid;
    const pid = await daemonPid();
    if (pid === undefined) throw new Error("no daemon");
    const from = agent.lines.length;
    process.kill(pid, "SIGSTOP");
    try {
      await writeFile(f.path("source", "while-daemon-stopped.txt"), "written while the daemon was stopped\n");
      const line = await agent.waitForLine((l) => l.resource === "daemon:d1" && l.msg.includes("not responding since"), 90_000, from);
      expect(line.level).toBe("warn");
      expect(line.msg).toMatch(new RegExp(`^daemon:d1 not responding since \\S+ \\(no greeting for \\d+ s\\); replacing it: SIGKILL to pid ${pid}$`));
      expect(await waitFor(async () => ((await daemonPid()) ?? pid) !== pid && (await processRunning((await daemonPid()) ?? 0, ["--daemon"])), 20_000)).toBe(true);
    } finally {
      resume(pid);
    }
    expect(await processRunning(pid)).toBe(false);
    await waitForSameTree(f.path("source"), f.path("replica"), { timeoutMs: 90_000 });
    await waitForHealth(agent, 200, 30_000);
  });

  test("a watcher stopped past the grace is replaced (SIGKILL, a new watcher), and what was written meanwhile arrives", async () => {
    const pid = await watcherPid();
    if (pid === undefined) throw new Error("no watcher");
    const from = agent.lines.length;
    process.kill(pid, "SIGSTOP");
    try {
      await writeFile(f.path("source", "while-stopped.txt"), "written while the watcher was stopped\n");
      const line = await agent.waitForLine((l) => l.resource === "watcher:push" && l.msg.includes("not responding since"), 60_000, from);
      expect(line.level).toBe("warn");
      expect(line.msg).toMatch(new RegExp(`^watcher:push not responding since \\S+ \\(no heartbeat for \\d+ s\\); replacing it: SIGKILL to pid ${pid}$`));
      expect(await waitFor(async () => ((await watcherPid()) ?? pid) !== pid && (await processRunning((await watcherPid()) ?? 0, ["__host"])), 20_000)).toBe(true);
    } finally {
      resume(pid);
    }
    expect(await processRunning(pid)).toBe(false);
    await waitForSameTree(f.path("source"), f.path("replica"));
    await waitForHealth(agent, 200, 20_000);
  });

  test("a watch host whose heartbeat file takes no write is Degraded (its heartbeat cannot reach the disk) but not replaced", async () => {
    const pid = await watcherPid();
    if (pid === undefined) throw new Error("no watcher");
    // The heartbeat of every job is the host's: the modification time of stateDir/host/heartbeat.
    const dir = `${f.stateDir}/host/heartbeat`;
    const from = agent.lines.length;
    await execa("chattr", ["+i", dir]);
    try {
      const body = await waitForHealth(agent, 503, 10_000);
      expect(watchersOf(body).find((x) => x.id === "watcher:push")?.problem).toMatch(/^not responding since /);
      const line = await agent.waitForLine((l) => l.resource === "watcher:push" && l.msg.includes("takes no write"), 60_000, from);
      expect(line.level).toBe("error");
      expect(line.msg).toBe(`watcher:push: ${dir} takes no write (EPERM): the heartbeat of pid ${pid} cannot reach the disk, so it is not replaced`);
      expect(await watcherPid()).toBe(pid);
      expect(await processRunning(pid, ["__host"])).toBe(true);
    } finally {
      await execa("chattr", ["-i", dir]);
    }
    // The watcher's write retries back off up to 30 s; its next write carries a fresh heartbeat.
    await waitForHealth(agent, 200, 45_000);
    expect(await watcherPid()).toBe(pid);
  });
  test("a watch host status document that cannot be read is logged, and nothing is replaced on it", async () => {
    const pid = await watcherPid();
    if (pid === undefined) throw new Error("no watcher");
    const doc = hostFiles.status(stateLayout.hostDir(f.stateDir));
    const saved = await readFile(doc);
    const from = agent.lines.length;
    await writeFile(doc, "{ not json");
    // Immutable: the host would write it again on its next heartbeat.
    await execa("chattr", ["+i", doc]);
    try {
      // The hang watch looks every 10 s.
      const line = await agent.waitForLine((l) => l.msg.startsWith("liveness check: "), 25_000, from);
      expect(line.level).toBe("error");
      expect(line.msg).toContain(doc);
      expect(line.msg).toMatch(/; not judged until it can be read$/);
      expect(await watcherPid()).toBe(pid);
      expect(await processRunning(pid, ["__host"])).toBe(true);
    } finally {
      await execa("chattr", ["-i", doc]);
      await writeFile(doc, saved);
    }
  });
});
