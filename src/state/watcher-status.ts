import * as z from "zod/mini";
import { messageOf } from "../core/errors.ts";
import { UnwatchedDirSchema } from "./unwatched.ts";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { watchFiles } from "./layout.ts";
import { SOURCE_KINDS } from "./watch-spec.ts";
import { assessWatcherHealth } from "./watcher-health.ts";

// The watcher's status document (WATCHDIR/status.json): written by the watcher process only (its
// status reducer, watch/process/status.ts), read by `rtsync status`, apply's progress display and
// the agent. Times are ISO strings, absent values null. The reader is lenient about keys it does
// not know (a watcher started by an older or newer rtsync may still be running), strict about the
// ones it reads.
//
// Each lane is stored once (`targets`); what the watch as a whole says of them (pending the most
// any lane has, the latest runs, counters summed, healthy, ...) is computed when the document is
// read (viewWatcherStatus), the health by state/watcher-health.ts. A document written by an older
// watcher also holds those aggregates (and no lanes before issue 14): it is read as it is.

export const RUN_OUTCOMES = ["ok", "transient", "auth", "partial", "max-delete", "fatal", "cancelled"] as const;
/**
 * What a run's exit means: ok (0, 24), transient (retry), auth (5 with "auth failed": retried
 * slowly), partial (23), max-delete (25: --max-delete stopped deletions; the job halts), fatal,
 * cancelled (stopped by us).
 */
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const WATCHER_STATES = ["starting", "watching", "source-down", "halted", "stopping", "stopped"] as const;

/**
 * Why a job halted: its source looks unmounted, replaced or emptied, or a full sync hit maxDelete.
 * source-changed: the source root is not the one recorded when the job first started (missing,
 * unmounted, a symlink or another mount in its place: guard/identity.ts); the job resumes by
 * itself once the recorded root is back, so apply does not restart it.
 */
export const HALT_REASONS = ["source-missing", "source-unmounted", "source-device-changed", "source-emptied", "max-delete", "source-changed"] as const;
export type HaltReason = (typeof HALT_REASONS)[number];

export const ProgressSchema = z.object({
  bytes: z.number(),
  percent: z.number(),
  /** Files transferred so far (absent from the updates rsync prints while a file is in flight). */
  files: z.optional(z.number()),
  /** Files still to check, and the total known so far (it grows while rsync scans). */
  toCheck: z.optional(z.number()),
  total: z.optional(z.number()),
});
/** rsync's --info=progress2 figures. */
export type Progress = z.infer<typeof ProgressSchema>;

export const RunRecordSchema = z.object({
  kind: z.enum(["incremental", "full"]),
  at: z.string(),
  ok: z.boolean(),
  outcome: z.enum(RUN_OUTCOMES),
  exitCode: z.number(),
  durationMs: z.number(),
  /** Incremental: the paths listed. Full: the files rsync transferred (older watchers wrote 0). */
  paths: z.number(),
  bytesSent: z.nullable(z.number()),
  /** Full syncs: files and directories deleted on the target (rsync's --info=stats2). */
  deleted: z.optional(z.nullable(z.number())),
  /** Why it ran: "changes", or for a full sync "initial sync", "schedule", "repair", ... */
  reason: z.optional(z.string()),
  /** Full syncs but the initial one: paths it created, updated or deleted that the events never reported. */
  repaired: z.optional(z.number()),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

const FailingSchema = z.object({
  since: z.string(),
  /** How many paths were given up (a given-up full sync adds none). */
  paths: z.number(),
  /** A few of them (display form). */
  sample: z.array(z.string()),
  /** rsync's reasons, e.g. "Permission denied (13) on the target". */
  reasons: z.array(z.string()),
  /** rsync's first error line. */
  detail: z.nullable(z.string()),
  /** When the next full sync that repairs them starts. */
  repairAt: z.nullable(z.string()),
  /** Full syncs tried for them so far. */
  attempts: z.number(),
});

const HaltedSchema = z.object({ at: z.string(), reason: z.enum(HALT_REASONS), message: z.string() });
const ErrorSchema = z.object({ at: z.string(), message: z.string() });
const InitialSyncSchema = z.object({
  state: z.enum(["pending", "running", "done", "failed", "skipped"]),
  progress: z.nullable(ProgressSchema),
});

/** What a lane counts, and the watch as their sum (plus its source's own counters). */
const RUN_COUNTERS = {
  runs: z.number(),
  incrementalRuns: z.number(),
  fullSyncs: z.number(),
  failedRuns: z.number(),
  gaveUp: z.number(),
  pathsSent: z.number(),
  bytesSent: z.number(),
  /** Paths full syncs repaired that the events never reported (absent from watchers before issue 18). */
  repairedPaths: z.optional(z.number()),
};

/** One lane of the watcher: everything about one of its targets. */
export const LaneStatusSchema = z.object({
  /** The lane's key (the spec's TargetSpec.key): no user, port always given. */
  target: z.string(),
  /** The destination as rsync takes it (a daemon user included, never a password). */
  url: z.string(),
  /** Its last run (if any) succeeded, nothing is given up and it did not halt (watcher-health.ts; computed on read). */
  healthy: z.boolean(),
  /** Changes not on this target yet: waiting, in flight, waiting for a retry or a repair. */
  pending: z.number(),
  /** Since when it has had changes pending without a break (how far behind it is), else null. */
  behindSince: z.nullable(z.string()),
  retryAt: z.nullable(z.string()),
  lastRun: z.nullable(RunRecordSchema),
  lastIncremental: z.nullable(RunRecordSchema),
  lastFullSync: z.nullable(RunRecordSchema),
  /** When its last successful run ended. */
  lastSuccessAt: z.nullable(z.string()),
  nextFullSync: z.nullable(z.string()),
  initialSync: InitialSyncSchema,
  counters: z.object(RUN_COUNTERS),
  lastError: z.nullable(ErrorSchema),
  halted: z.nullable(HaltedSchema),
  failing: z.nullable(FailingSchema),
  /** A full sync asked for from outside (the agent recreated the target's module): not healthy until one succeeded. */
  requested: z.optional(z.nullable(z.object({ at: z.string(), reason: z.string() }))),
  /** The run in flight has moved no data since then (longer than rsync's keep-alive lull): stalled, not healthy. Absent from older watchers. */
  stalledSince: z.optional(z.nullable(z.string())),
});
export type LaneStatus = z.infer<typeof LaneStatusSchema>;

export const WatcherStatusSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  pid: z.number(),
  specHash: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** starting: watches being set up; source-down: the source failed and is being restarted. */
  state: z.enum(WATCHER_STATES),
  /** Watching, and the last run (if any) succeeded. */
  healthy: z.boolean(),
  watcher: z.nullable(z.enum(SOURCE_KINDS)),
  watches: z.nullable(z.number()),
  pending: z.number(),
  /** When a failed run is retried next (the target was unreachable), else null. */
  retryAt: z.nullable(z.string()),
  lastRun: z.nullable(RunRecordSchema),
  lastIncremental: z.nullable(RunRecordSchema),
  lastFullSync: z.nullable(RunRecordSchema),
  nextFullSync: z.nullable(z.string()),
  initialSync: InitialSyncSchema,
  counters: z.object({
    ...RUN_COUNTERS,
    sourceRestarts: z.number(),
    /** Times the kernel's event queue overflowed (each answered by a full sync). */
    overflows: z.optional(z.number()),
  }),
  lastError: z.nullable(ErrorSchema),
  // Fields added after the first release are optional: a watcher started by an older rtsync
  // writes none of them.
  /** Why that event source runs ("auto: rtsync's inotify addon is built"). */
  watcherReason: z.optional(z.nullable(z.string())),
  /** Set once the job halted (state "halted": every lane did): no rsync runs until the watcher is restarted. */
  halted: z.optional(z.nullable(HaltedSchema)),
  /** Paths given up after retries, not on the target until a full sync succeeds (with several targets: the lanes' together). */
  failing: z.optional(z.nullable(FailingSchema)),
  /**
   * One entry per target, in the spec's order (issue 14). The fields above are their aggregate:
   * pending the most any lane has, the latest runs and error of any lane, the earliest retry and
   * next full sync, counters summed, healthy only when every lane is.
   */
  targets: z.optional(z.array(LaneStatusSchema)),
  /**
   * Directories inotify would not watch (issue 18), at most UNWATCHED_LISTED of them; each is
   * synced whole every 10 s and its pending changes are unknown. Absent or empty: none.
   */
  unwatched: z.optional(z.array(UnwatchedDirSchema)),
  /** How many directories are not watched (the list above is capped). */
  unwatchedCount: z.optional(z.number()),
  /** fs.inotify.max_user_watches when a directory hit the watch limit. */
  maxUserWatches: z.optional(z.nullable(z.number())),
  /**
   * The watcher's heartbeat: rewritten every second while its event loop runs. A watcher whose
   * heartbeat is a few seconds old is not responding (stopped, or stuck), however alive its pid
   * (state/watcher-liveness.ts). Absent from a watcher started by an older rtsync.
   */
  heartbeatAt: z.optional(z.nullable(z.string())),
  /**
   * Run by the watch host (stateDir/host): the host's status.json carries the heartbeat of all its
   * jobs, and this document none (one write a second per node rather than one per job).
   */
  hosted: z.optional(z.boolean()),
});
/** The watcher's status document as its readers see it: the lanes and the watch's aggregate of them. */
export type WatcherStatusDoc = z.infer<typeof WatcherStatusSchema>;

/** The fields computed on read (from the lanes): stored only by older watchers. */
const AGGREGATES = { healthy: true, pending: true, retryAt: true, lastRun: true, lastIncremental: true, lastFullSync: true, nextFullSync: true, initialSync: true } as const;

const StoredLaneSchema = z.extend(LaneStatusSchema, { healthy: z.optional(z.boolean()) });

/** What status.json holds: each lane once, the watch's own fields, and (older watchers) the aggregates. */
const StoredWatcherStatusSchema = z.extend(z.partial(WatcherStatusSchema, AGGREGATES), {
  counters: z.object({
    // The lanes' sums: written by older watchers only.
    ...z.partial(z.object(RUN_COUNTERS)).shape,
    sourceRestarts: z.number(),
    overflows: z.optional(z.number()),
  }),
  targets: z.optional(z.array(StoredLaneSchema)),
});
type StoredWatcherStatus = z.infer<typeof StoredWatcherStatusSchema>;
type StoredLane = z.infer<typeof StoredLaneSchema>;

const later = <T extends { readonly at: string }>(a: T | null, b: T | null): T | null => (a === null ? b : b === null ? a : Date.parse(b.at) > Date.parse(a.at) ? b : a);
const earliest = (times: ReadonlyArray<string | null>): string | null =>
  times.reduce<string | null>((min, t) => (t === null ? min : min === null || Date.parse(t) < Date.parse(min) ? t : min), null);

const INITIAL_ORDER = ["running", "pending", "failed", "done", "skipped"] as const;
const SAMPLE = 20;

type Failing = NonNullable<LaneStatus["failing"]>;

function mergeUnique(a: readonly string[], b: readonly string[], max: number): string[] {
  return [...new Set([...a, ...b])].slice(0, max);
}

// The lanes' failing paths together (one lane's as it is).
function mergeFailing(all: readonly Failing[]): Failing | null {
  const [first, ...rest] = all;
  if (first === undefined) return null;
  return rest.reduce<Failing>(
    (m, f) => ({
      since: earliest([m.since, f.since]) ?? m.since,
      paths: m.paths + f.paths,
      sample: mergeUnique(m.sample, f.sample, SAMPLE),
      reasons: mergeUnique(m.reasons, f.reasons, 5),
      detail: m.detail ?? f.detail,
      repairAt: earliest([m.repairAt, f.repairAt]),
      attempts: Math.max(m.attempts, f.attempts),
    }),
    first,
  );
}

// A document of a watcher before issue 14 (no lanes): its aggregates are all it has.
function viewWithoutLanes(s: StoredWatcherStatus): WatcherStatusDoc {
  const { targets: _none, ...watch } = s;
  const c = s.counters;
  return {
    ...watch,
    healthy: assessWatcherHealth(s).healthy,
    pending: s.pending ?? 0,
    retryAt: s.retryAt ?? null,
    lastRun: s.lastRun ?? null,
    lastIncremental: s.lastIncremental ?? null,
    lastFullSync: s.lastFullSync ?? null,
    nextFullSync: s.nextFullSync ?? null,
    initialSync: s.initialSync ?? { state: "skipped", progress: null },
    counters: { ...c, runs: c.runs ?? 0, incrementalRuns: c.incrementalRuns ?? 0, fullSyncs: c.fullSyncs ?? 0, failedRuns: c.failedRuns ?? 0, gaveUp: c.gaveUp ?? 0, pathsSent: c.pathsSent ?? 0, bytesSent: c.bytesSent ?? 0 },
  };
}

/**
 * The document as its readers see it: the top-level fields from the lanes, so a reader that knows
 * nothing of lanes (a script) reads the watch as a whole: pending the most any lane has, the latest
 * runs, the earliest retry and next full sync, counters summed, halted only when every lane is,
 * healthy (watcher-health.ts) only when every lane is. The state is the watcher's own (stored). Whatever aggregate a stored document holds
 * (an older watcher's) is replaced by the one computed here. Pure.
 */
export function viewWatcherStatus(s: StoredWatcherStatus): WatcherStatusDoc {
  const stored = s.targets;
  if (stored === undefined) return viewWithoutLanes(s);
  const health = assessWatcherHealth(s);
  const lanes: LaneStatus[] = stored.map((l, i) => ({ ...l, healthy: health.targets[i]?.healthy ?? false }));
  const allHalted = lanes.length > 0 && lanes.every((l) => l.halted !== null);
  const sum = (pick: (c: LaneStatus["counters"]) => number): number => lanes.reduce((n, l) => n + pick(l.counters), 0);
  const initial = INITIAL_ORDER.find((st) => lanes.some((l) => l.initialSync.state === st)) ?? s.initialSync?.state ?? "skipped";
  const initialLane = lanes.find((l) => l.initialSync.state === initial);
  return {
    ...s,
    healthy: health.healthy,
    pending: Math.max(0, ...lanes.map((l) => l.pending)),
    retryAt: earliest(lanes.map((l) => l.retryAt)),
    lastRun: lanes.reduce<RunRecord | null>((r, l) => later(r, l.lastRun), null),
    lastIncremental: lanes.reduce<RunRecord | null>((r, l) => later(r, l.lastIncremental), null),
    lastFullSync: lanes.reduce<RunRecord | null>((r, l) => later(r, l.lastFullSync), null),
    nextFullSync: earliest(lanes.map((l) => l.nextFullSync)),
    initialSync: { state: initial, progress: initialLane?.initialSync.progress ?? null },
    counters: {
      ...s.counters,
      runs: sum((c) => c.runs),
      incrementalRuns: sum((c) => c.incrementalRuns),
      fullSyncs: sum((c) => c.fullSyncs),
      failedRuns: sum((c) => c.failedRuns),
      gaveUp: sum((c) => c.gaveUp),
      pathsSent: sum((c) => c.pathsSent),
      bytesSent: sum((c) => c.bytesSent),
      repairedPaths: sum((c) => c.repairedPaths ?? 0),
    },
    halted: allHalted ? lanes.reduce<LaneStatus["halted"]>((h, l) => later(h, l.halted), null) : null,
    failing: mergeFailing(lanes.flatMap((l) => (l.failing === null ? [] : [l.failing]))),
    targets: lanes,
  };
}

// What status.json stores of a document: each lane once, without what is computed on read.
function storedOf(doc: WatcherStatusDoc): StoredWatcherStatus {
  if (doc.targets === undefined) return doc;
  const { healthy: _h, pending: _p, retryAt: _r, lastRun: _l, lastIncremental: _i, lastFullSync: _f, nextFullSync: _n, initialSync: _s, halted: _halted, failing: _failing, counters, targets, ...watch } = doc;
  const { sourceRestarts, overflows } = counters;
  return {
    ...watch,
    counters: { sourceRestarts, ...(overflows === undefined ? {} : { overflows }) },
    targets: targets.map(({ healthy: _lane, ...lane }): StoredLane => lane),
  };
}

const STATUS: DocumentKind<StoredWatcherStatus> = {
  what: "an rtsync watcher status document",
  schema: StoredWatcherStatusSchema,
  fix: "the watcher rewrites it within a second while it runs; if it does not run, `rtsync apply` starts it",
};

/** The watcher's status.json as its readers see it (viewWatcherStatus), or undefined before its first write. */
export async function readWatcherStatus(watchDir: string): Promise<WatcherStatusDoc | undefined> {
  const stored = await readDocument(watchFiles.status(watchDir), STATUS);
  return stored === undefined ? undefined : viewWatcherStatus(stored);
}

/** A status document as read: the document (undefined before the watcher's first write), or why it cannot be read. */
export type WatcherStatusRead = { readonly ok: true; readonly doc: WatcherStatusDoc | undefined } | { readonly ok: false; readonly error: string };

/** readWatcherStatus as a result: a corrupt or unreadable document is data (its sentence names the file and the fix), not undefined. */
export async function readWatcherStatusResult(watchDir: string): Promise<WatcherStatusRead> {
  try {
    return { ok: true, doc: await readWatcherStatus(watchDir) };
  } catch (e) {
    return { ok: false, error: messageOf(e) };
  }
}

/** Replaces status.json (atomically, without fsync: it is rewritten every few hundred ms), each lane once. */
export function writeWatcherStatus(watchDir: string, doc: WatcherStatusDoc): Promise<void> {
  return writeDocument(watchFiles.status(watchDir), storedOf(doc), { fsync: false });
}
