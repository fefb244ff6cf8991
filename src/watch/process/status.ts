import type { LogRecord } from "../../state/watch-log.ts";
import { viewWatcherStatus, type LaneStatus, type RunRecord, type WatcherStatusDoc } from "../../state/watcher-status.ts";
import type { EngineEvent, RunSummary, WatchEvent } from "../engine/events.ts";
import { unwatchedLogRecord, withUnwatched } from "./unwatched-status.ts";

// The watcher's status document (state/watcher-status.ts) and its log records (state/watch-log.ts),
// built from engine events by pure reducers. The watcher process is their only writer. Events of a
// lane update its entry in `targets`; the top-level fields and every `healthy` are then the
// document's view (viewWatcherStatus: the lanes' aggregate, computed the same way on read, since
// status.json stores each lane once).

export interface StatusIdentity {
  readonly name: string;
  readonly pid: number;
  readonly specHash: string;
  readonly startedAt: number;
  readonly initialSync: boolean;
  /** The watch's targets in the spec's order: each lane's key and destination. */
  readonly targets: ReadonlyArray<{ readonly key: string; readonly url: string }>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function buildInitialLane(t: StatusIdentity["targets"][number], initialSync: boolean): LaneStatus {
  return {
    target: t.key,
    url: t.url,
    healthy: true,
    pending: 0,
    behindSince: null,
    retryAt: null,
    lastRun: null,
    lastIncremental: null,
    lastFullSync: null,
    lastSuccessAt: null,
    nextFullSync: null,
    initialSync: { state: initialSync ? "pending" : "skipped", progress: null },
    counters: { runs: 0, incrementalRuns: 0, fullSyncs: 0, failedRuns: 0, gaveUp: 0, pathsSent: 0, bytesSent: 0, repairedPaths: 0 },
    lastError: null,
    halted: null,
    failing: null,
  };
}

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
    counters: { runs: 0, incrementalRuns: 0, fullSyncs: 0, failedRuns: 0, gaveUp: 0, sourceRestarts: 0, overflows: 0, pathsSent: 0, bytesSent: 0, repairedPaths: 0 },
    lastError: null,
    halted: null,
    failing: null,
    targets: id.targets.map((t) => buildInitialLane(t, id.initialSync)),
    heartbeatAt: iso(id.startedAt),
  };
}

/** What the watcher process adds to the engine's events: the inotify watches it holds, counted now and then. */
export type StatusInput =
  | EngineEvent
  | { readonly type: "watches-counted"; readonly at: number; readonly watches: number }
  /** The watcher's event loop ran (every second): the heartbeat readers judge its liveness by. */
  | { readonly type: "heartbeat"; readonly at: number };

type Failing = NonNullable<LaneStatus["failing"]>;
type LaneInput = Exclude<EngineEvent, WatchEvent>;

const SAMPLE = 20;

// The one line that explains a failed run.
function runError(run: RunSummary): string {
  const detail = run.messages.find((m) => /error|failed|@ERROR/i.test(m)) ?? run.messages[0];
  if (run.outcome === "auth" && run.messages[0]?.startsWith("ssh host key") === true) return `${run.messages[0]}; retried every few minutes`;
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

// Pending changed: a lane with something pending has been behind since the first of them.
function withPending(l: LaneStatus, pending: number, at: string): LaneStatus {
  return { ...l, pending, behindSince: pending === 0 ? null : (l.behindSince ?? at) };
}

/** One lane after one of its events. Pure. */
function stepLane(l: LaneStatus, e: LaneInput, at: string): LaneStatus {
  switch (e.type) {
    case "early-run-done":
    case "repaired": // counted from its run-done
      return l;
    case "changes":
    case "pending":
      return withPending(l, e.pending, at);
    case "run-start":
      if (e.kind === "full" && e.reason === "initial sync" && l.initialSync.state !== "done") return { ...l, initialSync: { state: "running", progress: null } };
      return l;
    case "run-stalled": {
      if (e.lastMovedAt === null) return { ...l, stalledSince: null };
      const since = iso(e.lastMovedAt);
      return { ...l, stalledSince: since, lastError: { at, message: `the run in flight has moved no data since ${since}: the target stopped answering; it is stopped at its --timeout and retried` } };
    }
    case "run-progress":
      if (l.initialSync.state !== "running") return l;
      // An update printed mid-file carries no file counts: keep the last ones.
      return { ...l, initialSync: { state: "running", progress: { ...l.initialSync.progress, ...e.progress } } };
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
        ...(run.repaired === undefined ? {} : { repaired: run.repaired }),
      };
      const c = l.counters;
      // A later full sync that succeeds completes an initial sync that failed or was halted (the replica is whole now).
      const initial =
        run.kind === "full" && l.initialSync.state === "running"
          ? { state: ok ? ("done" as const) : ("failed" as const), progress: l.initialSync.progress }
          : run.kind === "full" && ok && l.initialSync.state === "failed"
            ? { state: "done" as const, progress: l.initialSync.progress }
            : l.initialSync;
      return {
        ...withPending(l, e.pending, at),
        stalledSince: null,
        retryAt: null,
        lastRun: record,
        ...(run.kind === "full" ? { lastFullSync: record } : { lastIncremental: record }),
        ...(ok ? { lastSuccessAt: at } : {}),
        // A full sync that succeeded put everything given up on the target.
        ...(run.kind === "full" && ok ? { failing: null } : {}),
        // The full sync asked for from outside is done.
        ...(run.kind === "full" && ok && l.requested?.reason === run.reason ? { requested: null } : {}),
        initialSync: initial,
        counters: {
          runs: c.runs + 1,
          incrementalRuns: c.incrementalRuns + (run.kind === "incremental" ? 1 : 0),
          fullSyncs: c.fullSyncs + (run.kind === "full" ? 1 : 0),
          failedRuns: c.failedRuns + (ok ? 0 : 1),
          gaveUp: c.gaveUp,
          pathsSent: c.pathsSent + (ok ? run.paths : 0),
          bytesSent: c.bytesSent + (run.bytesSent ?? 0),
          repairedPaths: (c.repairedPaths ?? 0) + (run.repaired ?? 0),
        },
        lastError: ok || run.outcome === "cancelled" ? l.lastError : { at, message: runError(run) },
      };
    }
    case "retry-scheduled":
      return { ...l, retryAt: iso(e.retryAt) };
    case "gave-up": {
      const before = l.failing;
      const failing: Failing = {
        since: before?.since ?? at,
        paths: (before?.paths ?? 0) + e.paths,
        sample: mergeUnique(before?.sample ?? [], e.sample, SAMPLE),
        reasons: mergeUnique(before?.reasons ?? [], e.reasons, 5),
        detail: e.detail ?? before?.detail ?? null,
        repairAt: before?.repairAt ?? null,
        attempts: before?.attempts ?? 0,
      };
      return { ...l, failing, counters: { ...l.counters, gaveUp: l.counters.gaveUp + 1 }, lastError: { at, message: failingMessage(failing) } };
    }
    case "repair-scheduled":
      if (l.failing === null) return l;
      return { ...l, failing: { ...l.failing, repairAt: iso(e.repairAt), attempts: e.attempt - 1 } };
    case "halted":
      return {
        ...l,
        // An initial sync the guard refused is over: it failed (apply stops following it).
        initialSync: l.initialSync.state === "pending" || l.initialSync.state === "running" ? { ...l.initialSync, state: "failed" } : l.initialSync,
        halted: { at, reason: e.reason, message: e.message },
        nextFullSync: null,
        retryAt: null,
        lastError: { at, message: e.message },
      };
    case "full-sync-scheduled":
      return { ...l, nextFullSync: iso(e.nextAt) };
    case "full-sync-requested":
      return { ...l, requested: { at, reason: e.reason }, lastError: { at, message: `${e.reason}; full sync pending` } };
    case "resumed":
      return { ...l, halted: null };
  }
}

// The watch's state after a lane's event: halted once every lane is, watching again once one resumed.
function watchState(s: WatcherStatusDoc, lanes: readonly LaneStatus[]): WatcherStatusDoc["state"] {
  const allHalted = lanes.length > 0 && lanes.every((l) => l.halted !== null);
  return allHalted ? "halted" : s.state === "halted" ? "watching" : s.state;
}

/** The status after one engine event (or the watcher's own count of watches). Pure. */
export function stepStatus(s: WatcherStatusDoc, e: StatusInput): WatcherStatusDoc {
  const at = iso(e.at);
  const base = { ...s, updatedAt: at };
  const halted = s.state === "halted";
  switch (e.type) {
    case "source-ready":
      return viewWatcherStatus({ ...base, state: halted ? "halted" : "watching", watcher: e.watcher, watcherReason: e.why ?? s.watcherReason ?? null, watches: e.watches });
    case "watches-counted":
      return { ...base, watches: e.watches };
    case "unwatched":
      return viewWatcherStatus(withUnwatched(base, e));
    case "heartbeat":
      return { ...s, heartbeatAt: at };
    case "overflow":
      return { ...base, counters: { ...s.counters, overflows: (s.counters.overflows ?? 0) + 1 } };
    case "source-error":
      return viewWatcherStatus({
        ...base,
        state: halted ? "halted" : "source-down",
        counters: { ...s.counters, sourceRestarts: s.counters.sourceRestarts + 1 },
        lastError: halted ? s.lastError : { at, message: e.message },
      });
    case "early-run-done":
      return s; // a head start only: the lane's state is what its held changes say (log.jsonl has the run)
    case "stopping":
      return viewWatcherStatus({ ...base, state: "stopping" });
    case "stopped": {
      const lanes = (s.targets ?? []).map((l) => withPending(l, e.targets.find((t) => t.target === l.target)?.pending ?? l.pending, at));
      return viewWatcherStatus({ ...base, state: "stopped", pending: e.pending, targets: lanes });
    }
    case "changes":
    case "pending":
    case "run-start":
    case "run-progress":
    case "run-stalled":
    case "run-done":
    case "retry-scheduled":
    case "gave-up":
    case "repair-scheduled":
    case "halted":
    case "repaired":
    case "full-sync-requested":
    case "resumed":
    case "full-sync-scheduled": {
      const lanes = s.targets ?? [];
      const i = lanes.findIndex((l) => l.target === e.target);
      const before = lanes[i];
      if (before === undefined) return base; // not a lane of this spec: nothing to say
      const after = stepLane(before, e, at);
      if (after === before) return base;
      const next = viewWatcherStatus({ ...base, state: watchState(s, lanes.map((l, j) => (j === i ? after : l))), targets: lanes.map((l, j) => (j === i ? after : l)) });
      // The newest error of any lane is the watch's, naming its target when there are several.
      if (after.lastError === before.lastError || after.lastError === null) return next;
      return { ...next, lastError: lanes.length > 1 ? { at: after.lastError.at, message: `target ${after.url}: ${after.lastError.message}` } : after.lastError };
    }
  }
}

/** The warning of a full sync that repaired what the events never reported. Pure. */
export function repairedMessage(count: number, sample: readonly string[]): string {
  const which = sample.length === 0 ? "" : `: ${sample.join(", ")}${count > sample.length ? ", …" : ""}`;
  return `full sync repaired ${count} path${count === 1 ? "" : "s"} the events never reported${which} — something changed the replica or was missed`;
}

/** One log.jsonl record for the events worth a line (runs, give-ups, source failures, start, stop). */
export function buildLogRecord(e: EngineEvent): LogRecord | undefined {
  const at = iso(e.at);
  switch (e.type) {
    case "early-run-done":
    case "run-done":
      return {
        at,
        type: "run",
        target: e.target,
        kind: e.run.kind,
        reason: e.run.reason,
        paths: e.run.paths,
        ...(e.run.deleted === undefined ? {} : { deleted: e.run.deleted }),
        ...(e.run.repaired === undefined ? {} : { repaired: e.run.repaired }),
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
    case "repaired":
      return { at, type: "repaired", level: "warning", target: e.target, reason: e.reason, paths: e.count, sample: [...e.sample], message: repairedMessage(e.count, e.sample) };
    case "gave-up":
      return { at, type: "gave-up", target: e.target, runKind: e.kind, paths: e.paths, sample: [...e.sample], outcome: e.outcome, reasons: [...e.reasons], detail: e.detail ?? null };
    case "repair-scheduled":
      return { at, type: "repair-scheduled", target: e.target, repairAt: iso(e.repairAt), attempt: e.attempt };
    case "halted":
      return { at, type: "halted", target: e.target, reason: e.reason, message: e.message };
    case "resumed":
      return { at, type: "resumed", target: e.target, message: e.message };
    case "source-error":
      return { at, type: "source-error", reason: e.reason, message: e.message, retryInMs: e.retryInMs };
    case "source-ready":
      return { at, type: "watching", watcher: e.watcher, watches: e.watches, ...(e.why === undefined ? {} : { why: e.why }) };
    case "overflow":
      return { at, type: "overflow", watcher: e.watcher, message: "the kernel's inotify queue overflowed: events were dropped; a full sync follows" };
    case "unwatched":
      return unwatchedLogRecord(e);
    case "stopped":
      return { at, type: "stopped", pending: e.pending, targets: e.targets.map((t) => ({ ...t })) };
    case "changes":
    case "pending":
    case "run-start":
    case "run-progress":
    case "run-stalled":
    case "retry-scheduled":
    case "full-sync-scheduled":
    case "full-sync-requested":
    case "stopping":
      return undefined;
  }
}
