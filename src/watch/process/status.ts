import type { EngineEvent, RunSummary } from "../engine/events.ts";
import type { Progress } from "../rsync/result.ts";
import type { ResolvedWatcher } from "../sources/source.ts";

// The watcher's status document (stateDir/status.json), built from engine events by a pure
// reducer. `rtsync status` reads it; times are ISO strings, absent values are null.

export interface RunRecord {
  readonly kind: "incremental" | "full";
  readonly at: string;
  readonly ok: boolean;
  readonly outcome: RunSummary["outcome"];
  readonly exitCode: number;
  readonly durationMs: number;
  readonly paths: number;
  readonly bytesSent: number | null;
}

export interface WatcherStatus {
  readonly version: 1;
  readonly name: string;
  readonly pid: number;
  readonly specHash: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** starting: watches being set up; source-down: the source failed and is being restarted. */
  readonly state: "starting" | "watching" | "source-down" | "stopping" | "stopped";
  /** Watching, and the last run (if any) succeeded. */
  readonly healthy: boolean;
  readonly watcher: ResolvedWatcher | null;
  /** Why that event source runs ("auto: rtsync's inotify addon is built"). */
  readonly watcherReason: string | null;
  readonly watches: number | null;
  readonly pending: number;
  /** When a failed run is retried next (the target was unreachable), else null. */
  readonly retryAt: string | null;
  readonly lastRun: RunRecord | null;
  readonly lastIncremental: RunRecord | null;
  readonly lastFullSync: RunRecord | null;
  readonly nextFullSync: string | null;
  readonly initialSync: {
    readonly state: "pending" | "running" | "done" | "failed" | "skipped";
    readonly progress: Progress | null;
  };
  readonly counters: {
    readonly runs: number;
    readonly incrementalRuns: number;
    readonly fullSyncs: number;
    readonly failedRuns: number;
    readonly gaveUp: number;
    readonly sourceRestarts: number;
    /** Times the kernel's event queue overflowed (each one answered by a full sync). */
    readonly overflows: number;
    readonly pathsSent: number;
    readonly bytesSent: number;
  };
  readonly lastError: { readonly at: string; readonly message: string } | null;
}

export interface StatusIdentity {
  readonly name: string;
  readonly pid: number;
  readonly specHash: string;
  readonly startedAt: number;
  readonly initialSync: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function buildInitialStatus(id: StatusIdentity): WatcherStatus {
  return {
    version: 1,
    name: id.name,
    pid: id.pid,
    specHash: id.specHash,
    startedAt: iso(id.startedAt),
    updatedAt: iso(id.startedAt),
    state: "starting",
    healthy: false,
    watcher: null,
    watcherReason: null,
    watches: null,
    pending: 0,
    retryAt: null,
    lastRun: null,
    lastIncremental: null,
    lastFullSync: null,
    nextFullSync: null,
    initialSync: { state: id.initialSync ? "pending" : "skipped", progress: null },
    counters: { runs: 0, incrementalRuns: 0, fullSyncs: 0, failedRuns: 0, gaveUp: 0, sourceRestarts: 0, overflows: 0, pathsSent: 0, bytesSent: 0 },
    lastError: null,
  };
}

// The one line that explains a failed run.
function runError(run: RunSummary): string {
  const what = run.kind === "full" ? "full sync" : `incremental run of ${run.paths} path(s)`;
  const detail = run.messages.find((m) => /error|failed|@ERROR/i.test(m)) ?? run.messages[0];
  return `${what} failed (rsync exit code ${run.exitCode}, ${run.outcome})${detail === undefined ? "" : `: ${detail}`}`;
}

function healthOf(s: WatcherStatus): WatcherStatus {
  return { ...s, healthy: s.state === "watching" && (s.lastRun === null || s.lastRun.ok) };
}

/** The status after one engine event. Pure. */
export function stepStatus(s: WatcherStatus, e: EngineEvent): WatcherStatus {
  const at = iso(e.at);
  const base = { ...s, updatedAt: at };
  switch (e.type) {
    case "source-ready":
      return healthOf({ ...base, state: "watching", watcher: e.watcher, watcherReason: e.why ?? s.watcherReason, watches: e.watches });
    case "overflow":
      return { ...base, counters: { ...s.counters, overflows: s.counters.overflows + 1 } };
    case "source-error":
      return healthOf({
        ...base,
        state: "source-down",
        counters: { ...s.counters, sourceRestarts: s.counters.sourceRestarts + 1 },
        lastError: { at, message: e.message },
      });
    case "changes":
      return { ...base, pending: e.pending };
    case "run-start":
      if (e.kind === "full" && e.reason === "initial sync" && s.initialSync.state !== "done") {
        return { ...base, initialSync: { state: "running", progress: null } };
      }
      return base;
    case "run-progress":
      if (s.initialSync.state !== "running") return base;
      // An update printed mid-file carries no file counts: keep the last ones.
      return { ...base, initialSync: { state: "running", progress: { ...s.initialSync.progress, ...e.progress } } };
    case "run-done": {
      const run = e.run;
      const ok = run.outcome === "ok";
      const record: RunRecord = {
        kind: run.kind,
        at,
        ok,
        outcome: run.outcome,
        exitCode: run.exitCode,
        durationMs: run.durationMs,
        paths: run.paths,
        bytesSent: run.bytesSent ?? null,
      };
      const c = s.counters;
      const initial =
        run.kind === "full" && s.initialSync.state === "running"
          ? { state: ok ? ("done" as const) : ("failed" as const), progress: s.initialSync.progress }
          : s.initialSync;
      return healthOf({
        ...base,
        pending: e.pending,
        retryAt: null,
        lastRun: record,
        ...(run.kind === "full" ? { lastFullSync: record } : { lastIncremental: record }),
        initialSync: initial,
        counters: {
          ...c,
          runs: c.runs + 1,
          incrementalRuns: c.incrementalRuns + (run.kind === "incremental" ? 1 : 0),
          fullSyncs: c.fullSyncs + (run.kind === "full" ? 1 : 0),
          failedRuns: c.failedRuns + (ok ? 0 : 1),
          pathsSent: c.pathsSent + (ok ? run.paths : 0),
          bytesSent: c.bytesSent + (run.bytesSent ?? 0),
        },
        lastError: ok || run.outcome === "cancelled" ? s.lastError : { at, message: runError(run) },
      });
    }
    case "retry-scheduled":
      return { ...base, retryAt: iso(e.retryAt) };
    case "gave-up":
      return {
        ...base,
        counters: { ...s.counters, gaveUp: s.counters.gaveUp + 1 },
        lastError: {
          at,
          message:
            e.kind === "full"
              ? `gave up a full sync (${e.outcome})`
              : `gave up ${e.paths} path(s) after repeated failures (${e.outcome}); the next full sync repairs them: ${e.sample.join(", ")}`,
        },
      };
    case "full-sync-scheduled":
      return { ...base, nextFullSync: iso(e.nextAt) };
    case "stopping":
      return healthOf({ ...base, state: "stopping" });
    case "stopped":
      return healthOf({ ...base, state: "stopped", pending: e.pending });
  }
}

/** One log.jsonl record for the events worth a line (runs, give-ups, source failures, start, stop). */
export function buildLogRecord(e: EngineEvent): Record<string, unknown> | undefined {
  const at = iso(e.at);
  switch (e.type) {
    case "run-done":
      return {
        at,
        type: "run",
        kind: e.run.kind,
        reason: e.run.reason,
        paths: e.run.paths,
        bytes: e.run.bytesSent ?? null,
        durationMs: e.run.durationMs,
        exitCode: e.run.exitCode,
        outcome: e.run.outcome,
        ...(e.run.outcome === "ok" ? {} : { messages: e.run.messages }),
        // A batch with renamed directories runs one rsync per rename first (the daemon logs each).
        ...(e.run.renameSteps === undefined
          ? {}
          : {
              renames: e.run.renameSteps.map((r) => ({
                from: r.from,
                to: r.to,
                outcome: r.outcome,
                exitCode: r.exitCode,
                bytes: r.bytesSent ?? null,
                ...(r.outcome === "ok" ? {} : { messages: r.messages }),
              })),
            }),
      };
    case "gave-up":
      return { at, type: "gave-up", runKind: e.kind, paths: e.paths, sample: e.sample, outcome: e.outcome };
    case "source-error":
      return { at, type: "source-error", reason: e.reason, message: e.message, retryInMs: e.retryInMs };
    case "source-ready":
      return { at, type: "watching", watcher: e.watcher, watches: e.watches, ...(e.why === undefined ? {} : { why: e.why }) };
    case "overflow":
      return { at, type: "overflow", watcher: e.watcher, message: "the kernel's inotify queue overflowed: events were dropped; a full sync follows" };
    case "stopped":
      return { at, type: "stopped", pending: e.pending };
    case "changes":
    case "run-start":
    case "run-progress":
    case "retry-scheduled":
    case "full-sync-scheduled":
    case "stopping":
      return undefined;
  }
}
