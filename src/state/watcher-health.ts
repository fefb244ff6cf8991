import { unwatchedProblem, type UnwatchedView } from "./unwatched.ts";

// The one answer to "is this watcher healthy, and each of its targets", from its status document
// (state/watcher-status.ts). `rtsync status` (reconcile/status.ts), the agent's /healthz and its
// metrics (resources/health.ts) and every reader of status.json (its `healthy` flags are filled
// in on read, state/watcher-status-view.ts) ask this function; nothing else decides it. Whether
// the watcher process runs and responds is the caller's to tell (a document cannot say it). Pure.

/** What a running watcher's document says: Healthy, Progressing (starting, initial sync), or Degraded. */
export type ReportHealth = "Healthy" | "Progressing" | "Degraded";

export interface WatcherHealth {
  /** Watching, every lane healthy and every directory watched (status.json's `healthy`). */
  readonly healthy: boolean;
  readonly health: ReportHealth;
  /** Why it is Degraded, as the operator should read it. */
  readonly problem?: string;
  /** Each lane by its key: healthy or not (status.json's `targets[].healthy`). */
  readonly targets: ReadonlyArray<{ readonly target: string; readonly healthy: boolean }>;
}

type Message = { readonly message: string } | null;
type InitialSyncState = "pending" | "running" | "done" | "failed" | "skipped";

/** What the decision reads of a lane (status.json's `targets[]`, watcher-status.ts). */
export interface LaneHealthInput {
  readonly target: string;
  readonly url: string;
  readonly lastRun: { readonly ok: boolean } | null;
  readonly lastError: Message;
  readonly halted: object | null;
  readonly failing: object | null;
  readonly requested?: object | null | undefined;
  readonly stalledSince?: string | null | undefined;
  readonly initialSync: { readonly state: InitialSyncState };
}

/** What the decision reads of a document (stored, or its view: a superset). */
export interface WatcherHealthInput extends UnwatchedView {
  readonly state: string;
  readonly lastError: Message;
  /** A document without lanes (a watcher from before issue 14) is judged by these, as one lane. */
  readonly lastRun?: { readonly ok: boolean } | null | undefined;
  readonly halted?: object | null | undefined;
  readonly failing?: object | null | undefined;
  readonly initialSync?: { readonly state: InitialSyncState } | undefined;
  readonly targets?: readonly LaneHealthInput[] | undefined;
}

// A lane is healthy when its last run (if any) succeeded, nothing is given up, it did not halt, no
// full sync asked for from outside is pending and its run in flight is not stalled.
function laneHealthy(l: LaneHealthInput): boolean {
  return l.halted === null && l.failing === null && (l.requested ?? null) === null && (l.stalledSince ?? null) === null && (l.lastRun === null || l.lastRun.ok);
}

// The problem of a watcher whose lanes are not all healthy, or that is not watching.
function laneProblem(report: WatcherHealthInput, lanes: readonly LaneHealthInput[], healthy: readonly boolean[]): string {
  // Several targets: each lane that is not healthy, by name (the others replicate meanwhile).
  const sick = report.state === "watching" && lanes.length > 1 ? lanes.filter((_, i) => healthy[i] !== true) : [];
  if (sick.length > 0) return sick.map((l) => `target ${l.url}: ${l.lastError?.message ?? "not healthy"}`).join("; ");
  return report.lastError?.message ?? `state ${report.state}`;
}

/** A watcher's health and each lane's, from its status document; undefined: none written yet (starting). */
export function assessWatcherHealth(report: WatcherHealthInput | undefined): WatcherHealth {
  if (report === undefined) return { healthy: false, health: "Progressing", targets: [] };
  const lanes = report.targets ?? [];
  const lanesHealthy = lanes.map(laneHealthy);
  const allWatched = (report.unwatchedCount ?? 0) === 0;
  // A document without lanes (a watcher started before issue 14): its top level is its one lane.
  const whole = report.targets !== undefined || laneHealthy({ target: "", url: "", lastError: null, lastRun: report.lastRun ?? null, halted: report.halted ?? null, failing: report.failing ?? null, initialSync: { state: "done" } });
  const healthy = report.state === "watching" && whole && lanesHealthy.every(Boolean) && allWatched;
  const targets = lanes.map((l, i) => ({ target: l.target, healthy: lanesHealthy[i] ?? false }));
  const initial = report.targets === undefined ? [report.initialSync?.state] : lanes.map((l) => l.initialSync.state);
  const progressing = report.state === "starting" || initial.some((s) => s === "pending" || s === "running");
  if (healthy || report.state === "starting") return { healthy, health: progressing ? "Progressing" : "Healthy", targets };
  // Directories inotify would not watch: Degraded, naming them, while the rest replicates.
  const unwatched = report.state === "watching" ? unwatchedProblem(report) : undefined;
  const problem = unwatched !== undefined && lanesHealthy.every(Boolean) ? unwatched : unwatched === undefined ? laneProblem(report, lanes, lanesHealthy) : `${laneProblem(report, lanes, lanesHealthy)}; ${unwatched}`;
  return { healthy, health: "Degraded", problem, targets };
}
