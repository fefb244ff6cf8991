import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { HealthStatus, NodeHealth, SyncStatus } from "../resources/health.ts";
import type { AppliedRevision } from "../state/agent-revision.ts";
import { RUN_OUTCOMES, type WatcherStatusDoc } from "../state/watcher-status.ts";
import type { BuildInfo } from "./build-info.ts";
import type { RunTally } from "./run-tally.ts";

// The agent's /metrics (Prometheus text format, prom-client). Names follow Prometheus'
// conventions: the `rtsync_` prefix, the unit in the name, `_total` for counters, `_info` for a
// constant 1 that carries labels. Values are read at scrape time (the wiring reads the watchers'
// status documents and logs, the inventory and the agent's own state into a snapshot, then the
// collect callbacks copy it); only the reconcile counters and durations are kept in-process.
//
// Label sets do not churn: a state that changes is never a label value (it would start a new
// series at every change). A state is one gauge per possible value, 1 for the current one and 0
// for the others (rtsync_node_sync_status{status}, rtsync_node_health_status{status}); labels
// name things (watch, target, daemon, module) or fixed enums (kind, outcome, result). Every series
// about one target of a watch carries `watch` and `target`; the series about the watch's source
// side (inotify watches, source restarts, the watcher's restarts) carry `watch` only.
// prom-client's default process_* and nodejs_* metrics come from the same registry.

export interface WatchSnapshot {
  readonly name: string;
  /** The keys of its targets, in manifest order (what an older watcher's documents, which name none, are labelled with). */
  readonly targets: readonly string[];
  readonly up: boolean;
  readonly report: WatcherStatusDoc | undefined;
  readonly tally: RunTally;
  readonly restarts: number;
  readonly crashLooping: boolean;
}

export interface DaemonSnapshot {
  readonly name: string;
  readonly up: boolean;
  readonly restarts: number;
  readonly crashLooping: boolean;
}

export interface MetricsSnapshot {
  readonly node: string;
  readonly now: number;
  readonly health: NodeHealth;
  readonly watches: readonly WatchSnapshot[];
  readonly daemons: readonly DaemonSnapshot[];
  readonly revision: AppliedRevision | undefined;
  readonly refused: boolean;
  /** --allowed-signers: the newest fetched commit is refused because its signature does not verify. */
  readonly unsigned?: boolean;
  /** Changes the last reconcile found before applying. */
  readonly drifted: number;
  /** Resources still differing after it. */
  readonly outOfSync: number;
}

export type ReconcileResult = "converged" | "failed" | "error" | "refused";

export interface AgentMetrics {
  /** Counts one reconcile (or refused revision) and how long it took. */
  observeReconcile(result: ReconcileResult, seconds: number): void;
  /** Counts a module directory the agent had to create again (module-recreated.ts). */
  observeModuleRecreated(daemon: string, module: string): void;
  /** The exposition: reads a fresh snapshot first. */
  render(): Promise<string>;
  /** Every metric the registry defines (rtsync's own and the process/Node defaults), by name. */
  definitions(): readonly MetricDefinition[];
  readonly contentType: string;
}

type Runs = Pick<WatcherStatusDoc, "lastRun" | "lastIncremental" | "lastFullSync">;

const lastSuccess = (r: Runs): number | undefined => {
  const times = [r.lastRun, r.lastIncremental, r.lastFullSync].flatMap((run) => (run?.ok ? [Date.parse(run.at)] : [])).filter(Number.isFinite);
  return times.length === 0 ? undefined : Math.max(...times);
};

/** One target of a watch as the per-target series see it. */
interface TargetRow {
  readonly target: string;
  readonly pending: number;
  /** Epoch ms of its last successful run. */
  readonly lastSuccess: number | undefined;
  /** Epoch ms since when it has had changes pending without a break (undefined: none pending, or not known). */
  readonly behindSince: number | undefined;
  /** The lane's own health (last run ok, nothing given up, not halted, not stalled). */
  readonly healthy: boolean;
}

// The watch's targets from its status document: its lanes, or, from a watcher started before
// lanes existed, the document itself as its one target.
function targetRows(w: WatchSnapshot): TargetRow[] {
  const r = w.report;
  if (r === undefined) return [];
  if (r.targets !== undefined) {
    return r.targets.map((l) => ({
      target: l.target,
      pending: l.pending,
      lastSuccess: l.lastSuccessAt === null ? lastSuccess(l) : Date.parse(l.lastSuccessAt),
      behindSince: l.behindSince === null ? undefined : Date.parse(l.behindSince),
      healthy: l.healthy,
    }));
  }
  return [{ target: w.targets[0] ?? "", pending: r.pending, lastSuccess: lastSuccess(r), behindSince: undefined, healthy: r.healthy }];
}

// The log's tally by target, records that name none (an older watcher's) counted for its first target.
function tallyRows(w: WatchSnapshot): Map<string, { runs: Map<string, number>; bytes: number }> {
  const out = new Map<string, { runs: Map<string, number>; bytes: number }>();
  for (const [key, t] of w.tally) {
    const target = key === "" ? (w.targets[0] ?? "") : key;
    const row = out.get(target) ?? { runs: new Map<string, number>(), bytes: 0 };
    for (const [k, n] of t.runs) row.runs.set(k, (row.runs.get(k) ?? 0) + n);
    row.bytes += t.bytes;
    out.set(target, row);
  }
  return out;
}

/** One metric as the reference (docs/monitoring/metrics.md) lists it. */
export interface MetricDefinition {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly labels: readonly string[];
}

const SYNC_STATUSES = ["Synced", "OutOfSync", "Unknown"] as const satisfies readonly SyncStatus[];
const HEALTH_STATUSES = ["Healthy", "Progressing", "Missing", "Degraded"] as const satisfies readonly HealthStatus[];

export function createAgentMetrics(readSnapshot: () => Promise<MetricsSnapshot>, build: BuildInfo): AgentMetrics {
  const registry = new Registry();
  // The event-loop delay monitor samples every 10 s, not prom-client's default every 10 ms: its
  // timer wakes the agent each time, and every 10 ms cost an idle agent ~0.6 s of CPU a minute
  // (measured: 285 ms against 58 ms in 20 s), every second 60 wake-ups a minute where the agent at
  // rest wakes ~20 times (the hang watch and the process poll every 10 s, the HTTP server's
  // timeout check every 5 s). The lag gauge (nodejs_eventloop_lag_seconds) is measured at each
  // scrape and needs no timer.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10_000 });
  let snap: MetricsSnapshot | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const registers = [registry];
  // A gauge (or counter) whose series are rebuilt from the snapshot at every scrape.
  const fromSnapshot = <T extends Gauge | Counter>(make: (collect: () => void) => T, fill: (m: T, s: MetricsSnapshot) => void): T => {
    const metric: T = make(() => {
      metric.reset();
      if (snap) fill(metric, snap);
    });
    return metric;
  };
  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (g: Gauge, s: MetricsSnapshot) => void) =>
    fromSnapshot((collect) => new Gauge({ name, help, labelNames, registers, collect }), fill);
  const counter = (name: string, help: string, labelNames: readonly string[], fill: (c: Counter, s: MetricsSnapshot) => void) =>
    fromSnapshot((collect) => new Counter({ name, help, labelNames, registers, collect }), fill);

  // Per target of a watch (each is a lane of its watcher, with its own queue and runs).
  gauge("rtsync_watch_up", "1 when the watcher process that replicates to the target runs and responds (its heartbeat is at most 5 s old); the same for every target of a watch", ["watch", "target"], (g, s) =>
    s.watches.forEach((w) => w.targets.forEach((target) => g.set({ watch: w.name, target }, w.up ? 1 : 0))),
  );
  gauge("rtsync_watch_target_healthy", "1 when the target's last run (if any) succeeded, nothing is given up, it did not halt and its run in flight is not stalled", ["watch", "target"], (g, s) =>
    s.watches.forEach((w) => targetRows(w).forEach((t) => g.set({ watch: w.name, target: t.target }, t.healthy ? 1 : 0))),
  );
  gauge("rtsync_watch_pending_changes", "Changes seen and not yet replicated to the target", ["watch", "target"], (g, s) =>
    s.watches.forEach((w) => targetRows(w).forEach((t) => g.set({ watch: w.name, target: t.target }, t.pending))),
  );
  gauge("rtsync_watch_lag_seconds", "How long the target has had changes pending without a break (the oldest change not yet replicated waits at least this long); 0 when nothing is pending", ["watch", "target"], (g, s) =>
    s.watches.forEach((w) => targetRows(w).forEach((t) => g.set({ watch: w.name, target: t.target }, t.behindSince === undefined || t.pending === 0 ? 0 : Math.max(0, (s.now - t.behindSince) / 1000)))),
  );
  gauge("rtsync_watch_last_success_timestamp_seconds", "When the last successful rsync run to the target ended", ["watch", "target"], (g, s) =>
    s.watches.forEach((w) =>
      targetRows(w).forEach((t) => {
        if (t.lastSuccess !== undefined) g.set({ watch: w.name, target: t.target }, t.lastSuccess / 1000);
      }),
    ),
  );
  gauge("rtsync_watch_seconds_since_last_success", "Seconds since the last successful rsync run to the target", ["watch", "target"], (g, s) =>
    s.watches.forEach((w) =>
      targetRows(w).forEach((t) => {
        if (t.lastSuccess !== undefined) g.set({ watch: w.name, target: t.target }, Math.max(0, (s.now - t.lastSuccess) / 1000));
      }),
    ),
  );
  counter("rtsync_watch_runs_total", `rsync runs by target, kind (incremental, full) and outcome (${RUN_OUTCOMES.join(", ")}), from the watcher's log`, ["watch", "target", "kind", "outcome"], (c, s) =>
    s.watches.forEach((w) =>
      tallyRows(w).forEach((t, target) =>
        t.runs.forEach((n, key) => {
          const [kind = "?", outcome = "?"] = key.split("/");
          c.inc({ watch: w.name, target, kind, outcome }, n);
        }),
      ),
    ),
  );
  counter("rtsync_watch_sent_bytes_total", "Bytes rsync sent to the target, from the watcher's log", ["watch", "target"], (c, s) =>
    s.watches.forEach((w) => tallyRows(w).forEach((t, target) => c.inc({ watch: w.name, target }, t.bytes))),
  );
  counter("rtsync_watch_repaired_paths_total", "Paths full syncs had to create, update or delete on the target that the events never reported (something was missed), from the watcher's status", ["watch", "target"], (c, s) =>
    s.watches.forEach((w) => w.report?.targets?.forEach((l) => c.inc({ watch: w.name, target: l.target }, l.counters.repairedPaths ?? 0))),
  );
  // Per watch: its source side and its watcher.
  counter("rtsync_watch_restarts_total", "Times this agent started the watcher again after it died", ["watch"], (c, s) => s.watches.forEach((w) => c.inc({ watch: w.name }, w.restarts)));
  counter("rtsync_watch_source_restarts_total", "Restarts of the event source inside the running watcher (inotify failed, root vanished)", ["watch"], (c, s) =>
    s.watches.forEach((w) => w.report && c.inc({ watch: w.name }, w.report.counters.sourceRestarts)),
  );
  gauge("rtsync_watch_inotify_watches", "inotify watches the watcher holds (one per directory)", ["watch"], (g, s) =>
    s.watches.forEach((w) => w.report?.watches != null && g.set({ watch: w.name }, w.report.watches)),
  );
  gauge("rtsync_watch_unwatched_dirs", "Directories inotify would not watch (watch limit, path too long, no permission); each is synced whole every 10 s", ["watch"], (g, s) =>
    s.watches.forEach((w) => w.report && g.set({ watch: w.name }, w.report.unwatchedCount ?? 0)),
  );
  gauge("rtsync_watch_crash_looping", "1 when the watcher keeps dying soon after each start and is restarted with backoff", ["watch"], (g, s) =>
    s.watches.forEach((w) => g.set({ watch: w.name }, w.crashLooping ? 1 : 0)),
  );

  // Per daemon.
  gauge("rtsync_daemon_up", "1 when the rsync daemon runs and greets (@RSYNCD: within 2 s)", ["daemon"], (g, s) => s.daemons.forEach((d) => g.set({ daemon: d.name }, d.up ? 1 : 0)));
  counter("rtsync_daemon_restarts_total", "Times this agent started the daemon again after it died", ["daemon"], (c, s) => s.daemons.forEach((d) => c.inc({ daemon: d.name }, d.restarts)));
  gauge("rtsync_daemon_crash_looping", "1 when the daemon keeps dying soon after each start and is restarted with backoff", ["daemon"], (g, s) =>
    s.daemons.forEach((d) => g.set({ daemon: d.name }, d.crashLooping ? 1 : 0)),
  );

  // Per node.
  const reconciles = new Counter({ name: "rtsync_reconciles_total", help: "Reconciles by result: converged, failed (something still differs: a change failed, or a process is held back), error (could not run), refused (invalid revision)", labelNames: ["result"], registers });
  for (const result of ["converged", "failed", "error", "refused"]) reconciles.inc({ result }, 0);
  const recreated = new Counter({ name: "rtsync_module_recreated_total", help: "Module directories the agent created again while their daemon ran (someone removed them: the replica was lost)", labelNames: ["daemon", "module"], registers });
  const duration = new Histogram({ name: "rtsync_reconcile_duration_seconds", help: "How long each reconcile took", buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60], registers });
  gauge("rtsync_resources_drifted", "Resources the last reconcile found different from the manifest (before applying)", [], (g, s) => g.set(s.drifted));
  gauge("rtsync_resources_out_of_sync", "Resources still different from the manifest after the last reconcile (failed, blocked, held back)", [], (g, s) => g.set(s.outOfSync));
  gauge("rtsync_applied_revision_info", "The manifest revision the agent applied (a git commit, or the sha256 of the manifest)", ["revision", "source", "ref"], (g, s) => {
    if (s.revision) g.set({ revision: s.revision.revision, source: s.revision.source.kind, ref: s.revision.source.kind === "git" ? s.revision.source.ref : "" }, 1);
  });
  gauge("rtsync_applied_revision_timestamp_seconds", "When the applied revision was applied", [], (g, s) => {
    if (s.revision) g.set(Date.parse(s.revision.appliedAt) / 1000);
  });
  gauge("rtsync_revision_refused", "1 while the newest manifest revision is refused (invalid); the last applied one keeps running", [], (g, s) => g.set(s.refused ? 1 : 0));
  gauge("rtsync_revision_unsigned", "1 while the newest fetched commit is refused because its signature does not verify against the allowed signers (--allowed-signers)", [], (g, s) => g.set(s.unsigned ? 1 : 0));
  gauge("rtsync_node_info", "The node name the agent reconciles as (--node, default the hostname); always 1", ["node"], (g, s) => g.set({ node: s.node }, 1));
  gauge("rtsync_node_sync_status", "1 for the node's sync status (does the machine match the manifest), 0 for the others: Synced, OutOfSync, Unknown", ["status"], (g, s) =>
    SYNC_STATUSES.forEach((status) => g.set({ status }, s.health.sync === status ? 1 : 0)),
  );
  gauge("rtsync_node_health_status", "1 for the node's health (does what runs work), 0 for the others: Healthy, Progressing, Missing, Degraded", ["status"], (g, s) =>
    HEALTH_STATUSES.forEach((status) => g.set({ status }, s.health.health === status ? 1 : 0)),
  );
  gauge("rtsync_node_converged", "1 when everything of this node is converged and healthy (/healthz answers 200)", [], (g, s) => g.set(s.health.converged ? 1 : 0));

  new Gauge({ name: "rtsync_build_info", help: "The running rtsync: its version, the git commit it was built from (as rtsync --version says; unknown when run from source or built without git) and Node's version; always 1", labelNames: ["version", "revision", "node_version"], registers }).set(
    { version: build.version, revision: build.revision, node_version: build.nodeVersion },
    1,
  );

  return {
    observeReconcile(result, seconds) {
      reconciles.inc({ result });
      if (result !== "refused") duration.observe(seconds);
    },
    observeModuleRecreated(daemon, module) {
      recreated.inc({ daemon, module });
    },
    render() {
      // One scrape at a time: the collect callbacks share the snapshot.
      const next = queue.then(async () => {
        snap = await readSnapshot();
        try {
          return await registry.metrics();
        } finally {
          snap = undefined;
        }
      });
      queue = next.catch(() => undefined);
      return next;
    },
    definitions() {
      return registry
        .getMetricsAsArray()
        .map((m) => {
          // prom-client's metric objects carry their label names; its typings leave them off.
          const labels = (m as typeof m & { labelNames?: readonly string[] }).labelNames ?? [];
          return { name: m.name, type: String(m.type), help: m.help, labels: [...labels] };
        })
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    contentType: registry.contentType,
  };
}
