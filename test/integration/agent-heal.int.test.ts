import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readLogRecords } from "../../src/state/watch-log.ts";
import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { sampleKey, startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, readInventory, waitFor } from "../helpers/probes.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";

// `rtsync agent` keeps a node converged, through the real CLI, rsyncd on 127.0.0.1 and real
// watchers: kill -9 of a watcher and of the daemon, a SIGHUP, manifest edits (an editor's
// rename-over-save among them), an invalid edit, /metrics against what happened, status, and a
// restart of the agent that adopts what runs. In order, on one fixture.

const PW = "pw-AGENT-SECRET-31";

function manifest(f: ManifestFixture, port: number, o: { watch?: boolean; exclude?: string; modules?: string } = {}): string {
  const watch =
    o.watch === false
      ? ""
      : `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    exclude: ${o.exclude ?? '["*.tmp"]'}
    fullSync: { schedule: "0 0 1 1 *" }
`;
  return loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", ...(o.modules ? { modulesExtra: o.modules } : {}), rest: watch });
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("rtsync agent", () => {
  let f: ManifestFixture;
  let file: string;
  let port: number;
  let agent: AgentProcess;
  const agents: AgentProcess[] = [];
  const src = () => f.path("source");
  const replica = () => f.path("replica");
  const watcherPid = async () => (await readInventory(f.stateDir)).watchers["push"]?.pid;
  const daemonPid = async () => (await readInventory(f.stateDir)).daemons["d1"]?.pid;
  const conf = () => `${f.stateDir}/daemons/d1/rsyncd.conf`;
  // An editor's save: a new file renamed over the old one (a new inode).
  const save = async (text: string) => {
    await writeFile(`${file}.swp`, text);
    await rename(`${file}.swp`, file);
  };
  const start = async (args: readonly string[] = []) => {
    const a = await startAgentProcess([file, ...args], { DEMO_PW: PW });
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    await mkdir(src(), { recursive: true });
    await writeFile(f.path("source", "existing.txt"), "was there before\n");
    file = await f.writeManifest(manifest(f, port));
    agent = await start();
  });
  afterAll(async () => {
    for (const a of agents) expect(await a.stop()).toBe(0);
    if (!f) return;
    await writeFile(file, manifest(f, port));
    await f.adopt(file);
    await f.dispose();
  });

  test("at start it converges the node; /healthz answers 200 with Synced and Healthy", async () => {
    const body = await waitForHealth(agent, 200);
    expect(body).toMatchObject({ converged: true, sync: "Synced", health: "Healthy", problems: [], revision: { revision: sha256(await readFile(file, "utf8")), result: "converged" } });
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
    expect(await processRunning((await watcherPid()) ?? 0, ["__host"])).toBe(true);
    expect(await processRunning((await daemonPid()) ?? 0, ["--daemon"])).toBe(true);
    // One JSON object per line, each with time, level and msg; never the password.
    expect(agent.junk).toEqual([]);
    for (const l of agent.lines) expect(typeof l.time === "string" && typeof l.level === "string" && typeof l.msg === "string").toBe(true);
    expect(agent.lines.find((l) => l.resource === "watcher:push" && l.msg.includes(": done"))).toBeDefined();
  });

  test("kill -9 of the watcher: started again, and what was written meanwhile reaches the replica", async () => {
    const pid = await watcherPid();
    if (pid === undefined) throw new Error("no watcher");
    process.kill(pid, "SIGKILL");
    await waitFor(async () => !(await processRunning(pid)));
    await writeFile(f.path("source", "while-dead.txt"), "written while the watcher was dead\n");
    await mkdir(f.path("source", "dead-dir"), { recursive: true });
    await writeFile(f.path("source", "dead-dir", "x.txt"), "x\n");
    await agent.waitForLine((l) => l.level === "warn" && l.resource === "watcher:push" && l.msg.startsWith(`watcher:push died (pid ${pid},`));
    expect(await waitFor(async () => ((await watcherPid()) ?? pid) !== pid && (await processRunning((await watcherPid()) ?? 0, ["__host"])), 20_000)).toBe(true);
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
  });

  test("kill -9 of the daemon: started again, and the watcher's changes of the meantime arrive", async () => {
    const pid = await daemonPid();
    if (pid === undefined) throw new Error("no daemon");
    process.kill(pid, "SIGKILL");
    await writeFile(f.path("source", "daemon-dead.txt"), "written while the daemon was dead\n");
    await agent.waitForLine((l) => l.resource === "daemon:d1" && l.msg.startsWith(`daemon:d1 died (pid ${pid},`));
    expect(await waitFor(async () => ((await daemonPid()) ?? pid) !== pid && (await processRunning((await daemonPid()) ?? 0, ["--daemon"])), 20_000)).toBe(true);
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"], timeoutMs: 60_000 });
    await waitForHealth(agent, 200);
  });

  test("/metrics, parsed by a Prometheus text parser, counts what happened", async () => {
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
    const watchDir = `${f.stateDir}/watches/push`;
    // Quiet: nothing pending, the log settled.
    await waitFor(async () => (await readWatcherStatus(watchDir))?.pending === 0);
    const m = await agent.metrics();
    const records = (await readLogRecords(watchDir)).filter((r) => r.type === "run");
    const count = (kind: string, outcome: string) => records.filter((r) => r.type === "run" && r.kind === kind && r.outcome === outcome).length;
    expect(count("full", "ok")).toBeGreaterThanOrEqual(2); // the first watcher's initial sync and the restarted one's
    // The one target's lane, by its key (no user, the port always given).
    const lane = { watch: "push", target: `rsync://127.0.0.1:${port}/data` };
    expect(records.every((r) => r.target === lane.target)).toBe(true);
    for (const kind of ["incremental", "full"]) {
      for (const outcome of ["ok", "transient", "partial", "fatal", "cancelled"]) {
        expect(m.get(sampleKey("rtsync_watch_runs_total", { ...lane, kind, outcome })) ?? 0, `${kind}/${outcome}`).toBe(count(kind, outcome));
      }
    }
    const bytes = records.reduce((n, r) => n + (r.type === "run" ? (r.bytes ?? 0) + (r.renames ?? []).reduce((b, s) => b + (s.bytes ?? 0), 0) : 0), 0);
    expect(m.get(sampleKey("rtsync_watch_sent_bytes_total", lane))).toBe(bytes);
    expect(m.get(sampleKey("rtsync_watch_pending_changes", lane))).toBe(0);
    expect(m.get(sampleKey("rtsync_watch_up", lane))).toBe(1);
    expect(m.get(sampleKey("rtsync_watch_target_healthy", lane))).toBe(1);
    expect(m.get(sampleKey("rtsync_daemon_up", { daemon: "d1" }))).toBe(1);
    expect(m.get(sampleKey("rtsync_watch_restarts_total", { watch: "push" }))).toBe(1);
    expect(m.get(sampleKey("rtsync_daemon_restarts_total", { daemon: "d1" }))).toBe(1);
    expect(m.get(sampleKey("rtsync_watch_crash_looping", { watch: "push" }))).toBe(0);
    expect(m.get(sampleKey("rtsync_watch_inotify_watches", { watch: "push" }))).toBe((await readWatcherStatus(watchDir))?.watches);
    expect(m.get(sampleKey("rtsync_watch_seconds_since_last_success", lane))).toBeLessThan(120);
    expect(m.get(sampleKey("rtsync_applied_revision_info", { ref: "", revision: sha256(await readFile(file, "utf8")), source: "file" }))).toBe(1);
    expect(m.get(sampleKey("rtsync_node_sync_status", { status: "Synced" }))).toBe(1);
    expect(m.get(sampleKey("rtsync_node_health_status", { status: "Healthy" }))).toBe(1);
    expect(m.get(sampleKey("rtsync_node_health_status", { status: "Degraded" }))).toBe(0);
    // Start, the watcher's restart, the daemon's restart: three reconciles that changed something, none failed.
    const started = agent.lines.filter((l) => l.msg.startsWith("reconcile converged:") && Number(l["changed"]) > 0).length;
    expect(started).toBe(3);
    expect(m.get(sampleKey("rtsync_reconciles_total", { result: "converged" }))).toBeGreaterThanOrEqual(3);
    expect(m.get(sampleKey("rtsync_reconciles_total", { result: "error" }))).toBe(0);
    expect(m.get(sampleKey("rtsync_reconciles_total", { result: "failed" }))).toBe(0);
    expect(m.get("rtsync_reconcile_duration_seconds_count")).toBe(m.get(sampleKey("rtsync_reconciles_total", { result: "converged" })));
    expect(m.get("rtsync_node_converged")).toBe(1);
  });

  test("SIGHUP reconciles at once: a hand edit of rsyncd.conf is put back", async () => {
    const good = await readFile(conf(), "utf8");
    await appendFile(conf(), "\n[evil]\npath = /\n");
    const from = agent.lines.length;
    process.kill(agent.pid, "SIGHUP");
    await agent.waitForLine((l) => l.resource === `file:${conf()}` && l.msg.endsWith(": done"), 20_000, from);
    expect(await readFile(conf(), "utf8")).toBe(good);
  });

  test("manifest edits converge without an apply: a module, an exclude (saved by rename), the watch removed", async () => {
    const daemon = await daemonPid();
    await writeFile(file, manifest(f, port, { modules: `      more: { path: ${f.path("more")}, readOnly: false, authUsers: [demo] }\n` }));
    expect(await waitFor(async () => (await readFile(conf(), "utf8")).includes("[more]"), 20_000)).toBe(true);
    expect(await daemonPid()).toBe(daemon);

    const watcher = await watcherPid();
    const started = (await readWatcherStatus(`${f.stateDir}/watches/push`))?.startedAt;
    await save(manifest(f, port, { exclude: '["*.tmp", "*.swp"]' }));
    await agent.waitForLine((l) => l.resource === "watcher:push" && l.msg.includes("spec changed: exclude") && l.msg.endsWith(": done"), 20_000);
    // The job restarts inside the watch host: same host, a new start.
    expect(await watcherPid()).toBe(watcher);
    expect((await readWatcherStatus(`${f.stateDir}/watches/push`))?.startedAt).not.toBe(started);
    await writeFile(f.path("source", "after-edit.txt"), "sent\n");
    await writeFile(f.path("source", "scratch.swp"), "not sent\n");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp", "*.swp"] });
    await expect(readFile(f.path("replica", "scratch.swp"))).rejects.toMatchObject({ code: "ENOENT" });

    const last = await watcherPid();
    await save(manifest(f, port, { watch: false }));
    expect(await waitFor(async () => !(await processRunning(last ?? 0)) && (await readInventory(f.stateDir)).watchers["push"] === undefined, 20_000)).toBe(true);
    expect(await daemonPid()).toBe(daemon);
    await waitForHealth(agent, 200);
  });

  test("an invalid edit is refused: everything keeps running, /healthz says 503 with FILE:LINE:COL", async () => {
    await save(manifest(f, port));
    expect(await waitFor(async () => processRunning((await watcherPid()) ?? 0, ["__host"]), 20_000)).toBe(true);
    await waitForHealth(agent, 200);
    const pids = [await watcherPid(), await daemonPid()];
    const good = await readFile(file, "utf8");

    await save(good.replace("    port: ", "    port: [\n"));
    const bad = await waitForHealth(agent, 503);
    const problems = JSON.stringify(bad["problems"]);
    expect(problems).toMatch(new RegExp(`was refused.*${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+:\\d+: `));
    expect(bad).toMatchObject({ sync: "OutOfSync", health: "Degraded" });
    await agent.waitForLine((l) => l.level === "error" && l.msg.startsWith("refused manifest revision"));
    // Still running what was applied last, and replicating.
    expect([await watcherPid(), await daemonPid()]).toEqual(pids);
    await writeFile(f.path("source", "while-invalid.txt"), "still replicated\n");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });
    // And still repairing it: a watcher killed now is started again from the last good revision.
    process.kill(pids[0] ?? 0, "SIGKILL");
    expect(await waitFor(async () => ((await watcherPid()) ?? 0) !== pids[0] && (await processRunning((await watcherPid()) ?? 0, ["__host"])), 20_000)).toBe(true);
    pids[0] = await watcherPid();
    await writeFile(f.path("source", "after-kill-while-invalid.txt"), "replicated\n");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });

    // A password that cannot be read is refused the same way, at the user's line.
    await save(good.replace("{ env: DEMO_PW }", "{ file: no-such-secret }"));
    await waitFor(async () => (await agent.get("/healthz")).text.includes("no-such-secret"), 20_000);
    const line = good.split("\n").findIndex((l) => l.includes("demo: { password:")) + 1;
    expect((await agent.get("/healthz")).text).toContain(`${file}:${line}:`);
    expect([await watcherPid(), await daemonPid()]).toEqual(pids);

    await save(good);
    await waitForHealth(agent, 200);
    expect([await watcherPid(), await daemonPid()]).toEqual(pids);
  });

  test("status shows the sync status, the health and the revision the agent applied", async () => {
    const s = await f.run(["status", file, "--json"]);
    expect(s.exitCode, s.all).toBe(0);
    const j = JSON.parse(s.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({
      healthy: true,
      sync: "Synced",
      health: "Healthy",
      revision: { revision: sha256(await readFile(file, "utf8")), source: { kind: "file" }, result: "converged" },
      agent: { pid: agent.pid, running: true },
      watchers: [{ name: "push", sync: "Synced", health: "Healthy" }],
      daemons: [{ name: "d1", sync: "Synced", health: "Healthy" }],
    });
    const t = await f.run(["status", file]);
    expect(t.stdout).toContain(`revision: ${sha256(await readFile(file, "utf8")).slice(0, 12)} (manifest sha256), applied `);
    expect(t.stdout).toContain(`agent: running, pid ${agent.pid}`);
    expect(t.stdout).toMatch(/^watcher push: running, pid \d+ .*\(Synced, Healthy\)$/m);
  });

  test("stopping the agent leaves replication running; a new agent adopts the same pids", async () => {
    const pids = [await watcherPid(), await daemonPid()];
    expect(await agent.stop()).toBe(0);
    expect(agent.lines.at(-1)?.msg).toBe("stopped; daemons and watchers keep running");
    for (const pid of pids) expect(await processRunning(pid ?? 0)).toBe(true);
    await writeFile(f.path("source", "agent-down.txt"), "replicated without an agent\n");
    await waitForSameTree(src(), replica(), { exclude: ["*.tmp"] });

    agent = await start(["--interval", "1s"]);
    await waitForHealth(agent, 200);
    expect([await watcherPid(), await daemonPid()]).toEqual(pids);
    expect(agent.lines.filter((l) => l.msg.endsWith(": done"))).toEqual([]);
  });

  test("every --interval it repairs drift by itself: a hand edit of rsyncd.conf", async () => {
    const good = await readFile(conf(), "utf8");
    await appendFile(conf(), "\n# hand edit\n");
    expect(await waitFor(async () => (await readFile(conf(), "utf8")) === good, 20_000)).toBe(true);
    await agent.waitForLine((l) => l.resource === `file:${conf()}` && l.msg.endsWith(": done"));
    expect(JSON.stringify(agent.lines)).not.toContain(PW);
  });
});
