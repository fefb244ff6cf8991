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
    halted: null,
    failing: null,
  };
}

/** What the watcher process adds to the engine's events: the inotify watches it holds, counted now and then. */
export type StatusInput = EngineEvent | { readonly type: "watches-counted"; readonly at: number; readonly watches: number };

type Failing = NonNullable<WatcherStatusDoc["failing"]>;

const SAMPLE = 20;

// The one line that explains a failed run.
function runError(run: RunSummary): string {
  const detail = run.messages.find((m) => /error|failed|@ERROR/i.test(m)) ?? run.messages[0];
  if (run.outcome === "auth") {
    return (
      `authentication failed: the rsync daemon refused the password (rsync exit code 5${detail === undefined ? "" : `: ${detail}`}); ` +
      "check the user's password in the manifest (users:) and the daemon's secrets file, then run `rtsync apply`; retried every few minutes"
    );
  }
  const what = run.kind === "full" ? "full sync" : `incremental run of ${run.paths} path(s)`;
  return `${what} failed (rsync exit code ${run.exitCode}, ${run.outcome})${detail === undefined ? "" : `: ${detail}`}`;
}

// What is not on the target, why, and what happens next (the time itself is in `failing.repairAt`).
function failingMessage(f: Failing): string {
  const why = f.reasons.length > 0 ? ` (${f.reasons.join("; ")})` : "";
  const which = f.sample.length > 0 ? `: ${f.sample.join(", ")}${f.paths > f.sample.length ? ", ..." : ""}` : "";
  const what = f.paths > 0 ? `${f.paths} path(s) could not be written to the target${why}${which}` : `a full sync failed${why}`;
  return `${what}; a full sync retries them with backoff until one succeeds${f.detail === null ? "" : ` (${f.detail})`}`;
}

function mergeUnique(a: readonly string[], b: readonly string[], max: number): string[] {
  return [...new Set([...a, ...b])].slice(0, max);
}

function healthOf(s: WatcherStatusDoc): WatcherStatusDoc {
  const failing = s.failing ?? null;
  return { ...s, healthy: s.state === "watching" && (s.lastRun === null || s.lastRun.ok) && failing === null };
}

/** The status after one engine event (or the watcher's own count of watches). Pure. */
export function stepStatus(s: WatcherStatusDoc, e: StatusInput): WatcherStatusDoc {
  const at = iso(e.at);
  const base = { ...s, updatedAt: at };
  const halted = s.state === "halted";
  switch (e.type) {
    case "source-ready":
      return healthOf({ ...base, state: halted ? "halted" : "watching", watcher: e.watcher, watcherReason: e.why ?? s.watcherReason ?? null, watches: e.watches });
    case "watches-counted":
      return { ...base, watches: e.watches };
    case "overflow":
      return { ...base, counters: { ...s.counters, overflows: (s.counters.overflows ?? 0) + 1 } };
    case "source-error":
      return healthOf({
        ...base,
        state: halted ? "halted" : "source-down",
        counters: { ...s.counters, sourceRestarts: s.counters.sourceRestarts + 1 },
        lastError: halted ? s.lastError : { at, message: e.message },
      });
    case "changes":
    case "pending":
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
        ...(run.kind === "full" ? { deleted: run.deleted ?? null } : {}),
        reason: run.reason,
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
        // A full sync that succeeded put everything given up on the target.
        ...(run.kind === "full" && ok ? { failing: null } : {}),
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
    case "gave-up": {
      const before = s.failing ?? null;
      const failing: Failing = {
        since: before?.since ?? at,
        paths: (before?.paths ?? 0) + e.paths,
        sample: mergeUnique(before?.sample ?? [], e.sample, SAMPLE),
        reasons: mergeUnique(before?.reasons ?? [], e.reasons, 5),
        detail: e.detail ?? before?.detail ?? null,
        repairAt: before?.repairAt ?? null,
        attempts: before?.attempts ?? 0,
      };
      return healthOf({
        ...base,
        failing,
        counters: { ...s.counters, gaveUp: s.counters.gaveUp + 1 },
        lastError: { at, message: failingMessage(failing) },
      });
    }
    case "repair-scheduled": {
      const before = s.failing ?? null;
      if (before === null) return base;
      return { ...base, failing: { ...before, repairAt: iso(e.repairAt), attempts: e.attempt - 1 } };
    }
    case "halted":
      return healthOf({
        ...base,
        state: "halted",
        // An initial sync the guard refused is over: it failed (apply stops following it).
        initialSync: s.initialSync.state === "pending" || s.initialSync.state === "running" ? { ...s.initialSync, state: "failed" } : s.initialSync,
        halted: { at, reason: e.reason, message: e.message },
        nextFullSync: null,
        retryAt: null,
        lastError: { at, message: e.message },
      });
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
        ...(e.run.deleted === undefined ? {} : { deleted: e.run.deleted }),
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
      return { at, type: "gave-up", runKind: e.kind, paths: e.paths, sample: [...e.sample], outcome: e.outcome, reasons: [...e.reasons], detail: e.detail ?? null };
    case "repair-scheduled":
      return { at, type: "repair-scheduled", repairAt: iso(e.repairAt), attempt: e.attempt };
    case "halted":
      return { at, type: "halted", reason: e.reason, message: e.message };
    case "source-error":
      return { at, type: "source-error", reason: e.reason, message: e.message, retryInMs: e.retryInMs };
    case "source-ready":
      return { at, type: "watching", watcher: e.watcher, watches: e.watches, ...(e.why === undefined ? {} : { why: e.why }) };
    case "overflow":
      return { at, type: "overflow", watcher: e.watcher, message: "the kernel's inotify queue overflowed: events were dropped; a full sync follows" };
    case "stopped":
      return { at, type: "stopped", pending: e.pending };
    case "changes":
    case "pending":
    case "run-start":
    case "run-progress":
    case "retry-scheduled":
    case "full-sync-scheduled":
    case "stopping":
      return undefined;
  }
}
