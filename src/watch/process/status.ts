import type { LogRecord } from "../../state/watch-log.ts";
import type { RunRecord, WatcherStatusDoc } from "../../state/watcher-status.ts";
import type { EngineEvent, RunSummary } from "../engine/events.ts";

// The watcher's status document (state/watcher-status.ts) and its log records (state/watch-log.ts),
// built from engine events by pure reducers. The watcher process is their only writer.

export interface StatusIdentity {
  readonly name: string;
  readonly pid: number;
  readonly specHash: string;
  readonly startedAt: number;
  readonly initialSync: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function buildInitialStatus(id: StatusIdentity): WatcherStatusDoc {
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
    watches: null,
    pending: 0,
    retryAt: null,
    lastRun: null,
    lastIncremental: null,
    lastFullSync: null,
    nextFullSync: null,
    initialSync: { state: id.initialSync ? "pending" : "skipped", progress: null },
    counters: { runs: 0, incrementalRuns: 0, fullSyncs: 0, failedRuns: 0, gaveUp: 0, sourceRestarts: 0, pathsSent: 0, bytesSent: 0 },
    lastError: null,
  };
}

// The one line that explains a failed run.
function runError(run: RunSummary): string {
  const what = run.kind === "full" ? "full sync" : `incremental run of ${run.paths} path(s)`;
  const detail = run.messages.find((m) => /error|failed|@ERROR/i.test(m)) ?? run.messages[0];
  return `${what} failed (rsync exit code ${run.exitCode}, ${run.outcome})${detail === undefined ? "" : `: ${detail}`}`;
}

function healthOf(s: WatcherStatusDoc): WatcherStatusDoc {
  return { ...s, healthy: s.state === "watching" && (s.lastRun === null || s.lastRun.ok) };
}

/** The status after one engine event. Pure. */
export function stepStatus(s: WatcherStatusDoc, e: EngineEvent): WatcherStatusDoc {
  const at = iso(e.at);
  const base = { ...s, updatedAt: at };
  switch (e.type) {
    case "source-ready":
      return healthOf({ ...base, state: "watching", watcher: e.watcher, watches: e.watches });
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
export function buildLogRecord(e: EngineEvent): LogRecord | undefined {
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
        ...(e.run.outcome === "ok" ? {} : { messages: [...e.run.messages] }),
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
                ...(r.outcome === "ok" ? {} : { messages: [...r.messages] }),
              })),
            }),
      };
    case "gave-up":
      return { at, type: "gave-up", runKind: e.kind, paths: e.paths, sample: [...e.sample], outcome: e.outcome };
    case "source-error":
      return { at, type: "source-error", reason: e.reason, message: e.message, retryInMs: e.retryInMs };
    case "source-ready":
      return { at, type: "watching", watcher: e.watcher, watches: e.watches };
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
