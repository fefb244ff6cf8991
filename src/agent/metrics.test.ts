import { readFileSync } from "node:fs";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect, test } from "vitest";
import type { NodeHealth } from "../resources/health.ts";
import type { WatcherStatusDoc } from "../state/watcher-status.ts";
import { buildInitialStatus, stepStatus } from "../watch/process/status.ts";
import { readBuildInfo, type BuildInfo } from "./build-info.ts";
import { createAgentMetrics, type MetricsSnapshot } from "./metrics.ts";

// The exposition's shape: state as one gauge per possible value (no label that churns), the build
// info, the process/Node defaults, and `target` on every per-target series.

const T0 = Date.UTC(2025, 0, 1);
const A = "rsync://10.0.0.2:873/backup";
const B = "/srv/copy";
const BUILD: BuildInfo = { version: "9.8.7", revision: "0123456789ab", nodeVersion: "v20.19.0" };
const watching = stepStatus(
  buildInitialStatus({ name: "push", pid: 42, specHash: "abc", startedAt: T0, initialSync: false, targets: [{ key: A, url: A }, { key: B, url: B }] }),
  { type: "source-ready", at: T0, watcher: "inotify", watches: 10 },
);
// Target A has had 3 changes pending for 42 s; B is idle.
const behind: WatcherStatusDoc = {
  ...watching,
  targets: (watching.targets ?? []).map((l) => (l.target === A ? { ...l, pending: 3, behindSince: new Date(T0 - 42_000).toISOString() } : l)),
};

const snapshot = (health: Pick<NodeHealth, "sync" | "health">, report: WatcherStatusDoc | undefined = behind): MetricsSnapshot => ({
  node: "n1",
  now: T0,
  health: { ...health, healthy: false, converged: false, problems: [], daemons: [], watchers: [] },
  watches: [{ name: "push", targets: [A, B], up: true, report, tally: new Map(), restarts: 0, crashLooping: false }],
  daemons: [],
  revision: undefined,
  refused: false,
  drifted: 0,
  outOfSync: 0,
});

type Samples = Map<string, Map<string, number>>;
// name -> (labels as k=v,… sorted) -> value
async function scrape(s: MetricsSnapshot): Promise<Samples> {
  const out: Samples = new Map();
  for (const f of parsePrometheusTextFormat(await createAgentMetrics(() => Promise.resolve(s), BUILD).render())) {
    const series = new Map<string, number>();
    for (const m of f.metrics) {
      const key = Object.entries(m.labels ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(",");
      series.set(key, Number(m.value ?? m.count));
    }
    out.set(f.name, series);
  }
  return out;
}

test("sync and health status are one series per possible value, 1 for the current one: the label sets do not change when the state does", async () => {
  const synced = await scrape(snapshot({ sync: "Synced", health: "Healthy" }));
  const drifted = await scrape(snapshot({ sync: "OutOfSync", health: "Degraded" }));
  expect(Object.fromEntries(synced.get("rtsync_node_sync_status") ?? [])).toEqual({ "status=Synced": 1, "status=OutOfSync": 0, "status=Unknown": 0 });
  expect(Object.fromEntries(drifted.get("rtsync_node_sync_status") ?? [])).toEqual({ "status=Synced": 0, "status=OutOfSync": 1, "status=Unknown": 0 });
  expect(Object.fromEntries(synced.get("rtsync_node_health_status") ?? [])).toEqual({ "status=Healthy": 1, "status=Progressing": 0, "status=Missing": 0, "status=Degraded": 0 });
  expect(Object.fromEntries(drifted.get("rtsync_node_health_status") ?? [])).toEqual({ "status=Healthy": 0, "status=Progressing": 0, "status=Missing": 0, "status=Degraded": 1 });
  expect(Object.fromEntries(synced.get("rtsync_node_info") ?? [])).toEqual({ "node=n1": 1 });
  // No rtsync series changes its label set with the node's state.
  for (const [name, series] of synced) {
    if (name.startsWith("rtsync_")) expect([...(drifted.get(name)?.keys() ?? [])], name).toEqual([...series.keys()]);
  }
});

test("rtsync_build_info carries the version, revision and Node version; the process_* and nodejs_* defaults are exported", async () => {
  const m = await scrape(snapshot({ sync: "Synced", health: "Healthy" }));
  expect(Object.fromEntries(m.get("rtsync_build_info") ?? [])).toEqual({ "node_version=v20.19.0,revision=0123456789ab,version=9.8.7": 1 });
  for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
    expect(m.has(name), name).toBe(true);
  }
});

test("every per-target series carries watch and target, rtsync_watch_up and rtsync_watch_target_healthy included; lag is how long the target has been behind", async () => {
  const m = await scrape(snapshot({ sync: "Synced", health: "Healthy" }));
  const targets = (name: string) => [...(m.get(name)?.keys() ?? [])].sort();
  for (const name of ["rtsync_watch_up", "rtsync_watch_target_healthy", "rtsync_watch_pending_changes", "rtsync_watch_lag_seconds"]) {
    expect(targets(name), name).toEqual([`target=${B},watch=push`, `target=${A},watch=push`]);
  }
  expect(m.get("rtsync_watch_lag_seconds")?.get(`target=${A},watch=push`)).toBe(42);
  expect(m.get("rtsync_watch_lag_seconds")?.get(`target=${B},watch=push`)).toBe(0);
  expect(m.get("rtsync_watch_pending_changes")?.get(`target=${A},watch=push`)).toBe(3);
  // Its watcher down and no status document: still one rtsync_watch_up series per target, 0.
  const down = snapshot({ sync: "Synced", health: "Degraded" }, undefined);
  const d = await scrape({ ...down, watches: down.watches.map((w) => ({ ...w, up: false })) });
  expect(Object.fromEntries(d.get("rtsync_watch_up") ?? [])).toEqual({ [`target=${A},watch=push`]: 0, [`target=${B},watch=push`]: 0 });
});

test("definitions() lists every metric the registry exposes, with its type, labels and help", async () => {
  const metrics = createAgentMetrics(() => Promise.resolve(snapshot({ sync: "Synced", health: "Healthy" })), BUILD);
  const defs = metrics.definitions();
  const families = parsePrometheusTextFormat(await metrics.render());
  expect(defs.map((d) => d.name).sort()).toEqual(families.map((f) => f.name).sort());
  expect(defs.find((d) => d.name === "rtsync_watch_runs_total")).toMatchObject({ type: "counter", labels: ["watch", "target", "kind", "outcome"] });
  for (const d of defs) expect(d.help, d.name).not.toBe("");
});

test("readBuildInfo: the revision and version the build recorded (what `rtsync --version` prints); run from source, package.json's version and an unknown revision", () => {
  expect(readBuildInfo({ version: "1.2.3", revision: "aaaaaaaaaaaa-dirty", builtAt: "2026-12-07T00:00:00Z" })).toEqual({ version: "1.2.3", revision: "aaaaaaaaaaaa-dirty", nodeVersion: process.version });
  expect(readBuildInfo({ version: "1.2.3", revision: null, builtAt: "2026-12-07T00:00:00Z" }).revision).toBe("unknown");
  const pkg = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  expect(readBuildInfo(undefined)).toEqual({ version: pkg, revision: "unknown", nodeVersion: process.version });
});
