import { mkdir, readFile, writeFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { useAgentProcess, waitForHealth } from "../helpers/agent.ts";
import { REPO } from "../helpers/cli.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";

// The monitoring files in docs/monitoring/ query only what an agent really exports: a live
// `rtsync agent` (a daemon and a watch pushing to it over rsync://, on 127.0.0.1) is scraped, and
// every metric name the Grafana dashboard's queries and the alert rules use must be among the
// names of its /metrics samples.

const PW = "pw-MONITORING-7";
const DASHBOARD = `${REPO}docs/monitoring/rtsync-dashboard.json`;
const RULES = `${REPO}docs/monitoring/rtsync.rules.yml`;

// The names rtsync and prom-client export (Prometheus' own `up` and friends are not the agent's).
const METRIC = /\b((?:rtsync|process|nodejs)_[a-z0-9_]+)\b/g;
const namesIn = (expr: string): string[] => [...expr.matchAll(METRIC)].map((m) => m[1] ?? "");

// Every PromQL query of a dashboard: the panels' targets and the query variables (a data source
// variable's `query` is a plugin name, not PromQL).
function dashboardQueries(dashboard: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown, key: string): void => {
    if (typeof v === "string" && (key === "expr" || key === "query" || key === "definition")) out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => visit(x, key));
    else if (typeof v === "object" && v !== null && (v as { type?: unknown }).type !== "datasource") for (const [k, x] of Object.entries(v)) visit(x, k);
  };
  visit(dashboard, "");
  return out;
}

// The sample names of an exposition (histograms as _bucket, _sum, _count).
const sampleNames = (text: string): Set<string> =>
  new Set(
    text
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"))
      .map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ""),
  );

test("every metric the dashboard's queries and the alert rules name is exported by a live agent", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"));
  await writeFile(f.path("source", "a.txt"), "a\n");
  const file = await f.writeManifest(
    loopbackManifest(f, {
      port,
      daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n",
      rest: `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    fullSync: { schedule: "0 0 1 1 *" }
`,
    }),
  );
  const agent = await useAgentProcess([file], { DEMO_PW: PW });
  await f.adopt(file);
  await waitForHealth(agent, 200, 60_000);
  // One change replicated, so the per-target run counters have samples too.
  await writeFile(f.path("source", "b.txt"), "b\n");
  await waitFor(async () => (await readFile(f.path("replica", "b.txt"), "utf8").catch(() => "")) === "b\n", 30_000);
  let exported = new Set<string>();
  await waitFor(async () => {
    exported = sampleNames((await agent.get("/metrics")).text);
    return exported.has("rtsync_watch_runs_total");
  }, 30_000);

  const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as unknown;
  const queries = dashboardQueries(dashboard);
  expect(queries.length).toBeGreaterThan(20);
  // Every query names at least one metric (a typo in a prefix would otherwise pass unseen).
  for (const q of queries) expect(namesIn(q), q).not.toEqual([]);
  const used = new Set(queries.flatMap(namesIn));
  const rules = await readFile(RULES, "utf8");
  const ruleExprs = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1] ?? "");
  expect(ruleExprs.length).toBeGreaterThanOrEqual(5);
  for (const e of ruleExprs) for (const n of namesIn(e)) used.add(n);

  const missing = [...used].filter((n) => !exported.has(n)).sort();
  expect(missing, `named by docs/monitoring but not exported: ${missing.join(", ")}; exported: ${[...exported].sort().join(", ")}`).toEqual([]);
  // The dashboard covers each kind of series: node, per target, per watch, per daemon, process.
  for (const n of ["rtsync_node_converged", "rtsync_watch_lag_seconds", "rtsync_watch_up", "rtsync_daemon_up", "process_resident_memory_bytes"]) expect(used.has(n), n).toBe(true);
  expect(await agent.stop()).toBe(0);
});
