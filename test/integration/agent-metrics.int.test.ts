import { mkdir, writeFile } from "node:fs/promises";
import { expect, onTestFinished, test } from "vitest";
import { readLogRecords, type LogRecord } from "../../src/state/watch-log.ts";
import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { sampleKey, useAgentProcess, waitForHealth } from "../helpers/agent.ts";
import { useFixture } from "../helpers/manifest-fixture.ts";
import { startRsyncDaemon } from "../helpers/rsync-daemon.ts";
import { waitFor } from "../helpers/probes.ts";

// A watch with two targets, one of which goes down (an rsync daemon the test runs, stopped after
// the initial sync) while the other (a local directory) stays up: changes pile up on the first
// and every run to it fails, while the second keeps up. /metrics, read by a Prometheus text
// parser, says so per target in the watcher's own numbers (pending changes, runs by outcome, the
// age of the last success), and /healthz calls the watcher Degraded, naming the target.

test("a target that is down: its pending changes and failed runs in /metrics, by target; Degraded in /healthz", async () => {
  const f = await useFixture();
  await mkdir(f.path("source"));
  const target = await startRsyncDaemon();
  onTestFinished(() => target.dispose());
  const down = `rsync://127.0.0.1:${target.port}/dst`;
  const local = f.path("copy");
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    targets: [${target.url("dst")}, ${local}]
    fullSync: { schedule: "0 0 1 1 *" }
`);
  const agent = await useAgentProcess([file]);
  await f.adopt(file);
  const watchDir = `${f.stateDir}/watches/push`;
  await waitFor(async () => (await readWatcherStatus(watchDir))?.initialSync.state === "done", 30_000);
  await waitForHealth(agent, 200);
  await target.stop();
  for (const name of ["a.txt", "b.txt", "c.txt"]) await writeFile(f.path("source", name), `${name}\n`);
  // Let the retries space out (1 s, 2 s, 4 s …), then queue two more changes behind the batch that
  // waits for its retry: status.json counts those as pending until the next attempt.
  const lane = async (key: string) => (await readWatcherStatus(watchDir))?.targets?.find((l) => l.target === key);
  await waitFor(async () => ((await lane(down))?.counters.failedRuns ?? 0) >= 3, 30_000);
  for (const name of ["d.txt", "e.txt"]) await writeFile(f.path("source", name), `${name}\n`);
  let m = new Map<string, number>();
  let status = await readWatcherStatus(watchDir);
  // The log as it was just before the scrape: the counters, read from it at scrape time, hold at
  // least these runs (one that ends after the scrape is in a later read of the log only).
  let runs: Array<Extract<LogRecord, { type: "run" }>> = [];
  // The metric is the status document's value at scrape time: equal when nothing ran in between.
  const pendingOf = (key: string) => status?.targets?.find((l) => l.target === key)?.pending;
  expect(
    await waitFor(async () => {
      const before = await readWatcherStatus(watchDir);
      runs = (await readLogRecords(watchDir)).filter((r): r is Extract<LogRecord, { type: "run" }> => r.type === "run");
      m = await agent.metrics();
      status = await readWatcherStatus(watchDir);
      return (
        (pendingOf(down) ?? 0) >= 2 &&
        pendingOf(local) === 0 &&
        before?.updatedAt === status?.updatedAt &&
        m.get(sampleKey("rtsync_watch_pending_changes", { watch: "push", target: down })) === pendingOf(down)
      );
    }, 30_000),
  ).toBe(true);
  expect(m.get(sampleKey("rtsync_watch_pending_changes", { watch: "push", target: local }))).toBe(0);
  // The watcher is up for both targets; only the down one is unhealthy, and its changes wait.
  for (const t of [down, local]) expect(m.get(sampleKey("rtsync_watch_up", { watch: "push", target: t }))).toBe(1);
  expect(m.get(sampleKey("rtsync_watch_target_healthy", { watch: "push", target: down }))).toBe(0);
  expect(m.get(sampleKey("rtsync_watch_target_healthy", { watch: "push", target: local }))).toBe(1);
  expect(m.get(sampleKey("rtsync_watch_lag_seconds", { watch: "push", target: down }))).toBeGreaterThan(0);
  expect(m.get(sampleKey("rtsync_watch_lag_seconds", { watch: "push", target: local }))).toBe(0);
  // Every run the log holds is counted under its target, kind and outcome.
  expect(runs.every((r) => r.target === down || r.target === local)).toBe(true);
  expect(runs.filter((r) => r.target === down && r.outcome !== "ok").length).toBeGreaterThanOrEqual(3);
  for (const r of runs) {
    const n = runs.filter((x) => x.target === r.target && x.kind === r.kind && x.outcome === r.outcome).length;
    const key = sampleKey("rtsync_watch_runs_total", { watch: "push", target: r.target ?? "", kind: r.kind, outcome: r.outcome });
    expect(m.get(key), `${r.target} ${r.kind}/${r.outcome}`).toBeGreaterThanOrEqual(n); // runs may have ended after the log was read
  }
  expect(m.get(sampleKey("rtsync_watch_runs_total", { watch: "push", target: down, kind: "incremental", outcome: "ok" }))).toBeUndefined();
  expect(m.get(sampleKey("rtsync_watch_runs_total", { watch: "push", target: down, kind: "full", outcome: "ok" }))).toBe(1);
  // The local target got every change: its incremental runs succeeded, and it sent bytes.
  expect(m.get(sampleKey("rtsync_watch_runs_total", { watch: "push", target: local, kind: "incremental", outcome: "ok" }))).toBeGreaterThanOrEqual(1);
  expect(m.get(sampleKey("rtsync_watch_sent_bytes_total", { watch: "push", target: local }))).toBeGreaterThan(0);
  const downLane = status?.targets?.find((l) => l.target === down);
  expect(m.get(sampleKey("rtsync_watch_last_success_timestamp_seconds", { watch: "push", target: down }))).toBe(Date.parse(downLane?.lastSuccessAt ?? "") / 1000);
  // The down target's last success is the initial sync; the local one's is more recent.
  const since = (key: string) => m.get(sampleKey("rtsync_watch_seconds_since_last_success", { watch: "push", target: key })) ?? -1;
  expect(since(down)).toBeGreaterThan(since(local));
  expect(since(local)).toBeGreaterThanOrEqual(0);
  expect(m.get("rtsync_node_converged")).toBe(0);

  const body = await waitForHealth(agent, 503);
  expect(body).toMatchObject({
    health: "Degraded",
    watchers: [{ id: "watcher:push", health: "Degraded", problem: expect.stringMatching(new RegExp(`^target ${target.url("dst").replace(/[./]/g, "\\$&")}: incremental run of \\d+ path\\(s\\) failed \\(rsync exit code \\d+`)) }],
  });
  expect(body).toMatchObject({ watchers: [{ problem: expect.not.stringContaining(local) }] });
  expect(await agent.stop()).toBe(0);
});
