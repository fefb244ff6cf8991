import { mkdir, writeFile } from "node:fs/promises";
import { expect, onTestFinished, test } from "vitest";
import { readLogRecords } from "../../src/state/watch-log.ts";
import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { sampleKey, useAgentProcess, waitForHealth } from "../helpers/agent.ts";
import { useFixture } from "../helpers/manifest-fixture.ts";
import { startRsyncDaemon } from "../helpers/rsync-daemon.ts";
import { waitFor } from "../helpers/probes.ts";

// A watch whose target goes down (an rsync daemon the test runs, stopped after the initial
// sync): changes pile up and every run fails. /metrics, read by a Prometheus text parser, says so
// in the watcher's own numbers (pending changes, failed runs by outcome, the age of the last
// success), and /healthz calls the watcher Degraded.

test("a target that is down: pending changes and failed runs in /metrics, Degraded in /healthz", async () => {
  const f = await useFixture();
  await mkdir(f.path("source"));
  const target = await startRsyncDaemon();
  onTestFinished(() => target.dispose());
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    target: ${target.url("dst")}
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
  await waitFor(async () => ((await readWatcherStatus(watchDir))?.counters.failedRuns ?? 0) >= 3, 30_000);
  for (const name of ["d.txt", "e.txt"]) await writeFile(f.path("source", name), `${name}\n`);
  let m = new Map<string, number>();
  let status = await readWatcherStatus(watchDir);
  // The metric is the status document's value at scrape time: equal when nothing ran in between.
  expect(
    await waitFor(async () => {
      const before = await readWatcherStatus(watchDir);
      m = await agent.metrics();
      status = await readWatcherStatus(watchDir);
      return (status?.pending ?? 0) >= 2 && before?.updatedAt === status?.updatedAt && m.get(sampleKey("rtsync_watch_pending_changes", { watch: "push" })) === status?.pending;
    }, 30_000),
  ).toBe(true);
  const records = await readLogRecords(watchDir);
  expect(m.get(sampleKey("rtsync_watch_up", { watch: "push" }))).toBe(1);
  // Every run the log holds is counted under its kind and outcome (none of them ok).
  const runs = records.filter((r) => r.type === "run");
  const failed = runs.filter((r) => r.outcome !== "ok");
  expect(failed.length).toBeGreaterThanOrEqual(1);
  for (const r of runs) {
    const n = runs.filter((x) => x.kind === r.kind && x.outcome === r.outcome).length;
    expect(m.get(sampleKey("rtsync_watch_runs_total", { watch: "push", kind: r.kind, outcome: r.outcome })), `${r.kind}/${r.outcome}`).toBe(n);
  }
  expect(m.get(sampleKey("rtsync_watch_runs_total", { watch: "push", kind: "incremental", outcome: "ok" }))).toBeUndefined();
  expect(m.get(sampleKey("rtsync_watch_runs_total", { watch: "push", kind: "full", outcome: "ok" }))).toBe(1);
  const lastOk = Date.parse(status?.lastFullSync?.at ?? "");
  expect(m.get(sampleKey("rtsync_watch_last_success_timestamp_seconds", { watch: "push" }))).toBe(lastOk / 1000);
  expect(m.get(sampleKey("rtsync_watch_seconds_since_last_success", { watch: "push" }))).toBeGreaterThan(0);
  expect(m.get("rtsync_node_converged")).toBe(0);

  const body = await waitForHealth(agent, 503);
  expect(body).toMatchObject({ health: "Degraded", watchers: [{ id: "watcher:push", health: "Degraded", problem: expect.stringMatching(/failed \(rsync exit code \d+/) }] });
  expect(await agent.stop()).toBe(0);
});
