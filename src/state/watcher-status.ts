import * as z from "zod/mini";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { watchFiles } from "./layout.ts";
import { SOURCE_KINDS } from "./watch-spec.ts";

// The watcher's status document (WATCHDIR/status.json): written by the watcher process only (its
// status reducer, watch/process/status.ts), read by `rtsync status`, apply's progress display and
// the agent. Times are ISO strings, absent values null. The reader is lenient about keys it does
// not know (a watcher started by an older or newer rtsync may still be running), strict about the
// ones it reads.

export const RUN_OUTCOMES = ["ok", "transient", "partial", "fatal", "cancelled"] as const;
/** What a run's exit means: ok (0, 24), transient (retry), partial (23), fatal, cancelled (stopped by us). */
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export const WATCHER_STATES = ["starting", "watching", "source-down", "stopping", "stopped"] as const;

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
  paths: z.number(),
  bytesSent: z.nullable(z.number()),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

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
  initialSync: z.object({
    state: z.enum(["pending", "running", "done", "failed", "skipped"]),
    progress: z.nullable(ProgressSchema),
  }),
  counters: z.object({
    runs: z.number(),
    incrementalRuns: z.number(),
    fullSyncs: z.number(),
    failedRuns: z.number(),
    gaveUp: z.number(),
    sourceRestarts: z.number(),
    pathsSent: z.number(),
    bytesSent: z.number(),
  }),
  lastError: z.nullable(z.object({ at: z.string(), message: z.string() })),
});
/** The watcher's status document, as the watcher writes it. */
export type WatcherStatusDoc = z.infer<typeof WatcherStatusSchema>;

const STATUS: DocumentKind<WatcherStatusDoc> = {
  what: "an rtsync watcher status document",
  schema: WatcherStatusSchema,
  fix: "the watcher rewrites it within a second while it runs; if it does not run, `rtsync apply` starts it",
};

/** The watcher's status.json, or undefined before its first write. */
export function readWatcherStatus(watchDir: string): Promise<WatcherStatusDoc | undefined> {
  return readDocument(watchFiles.status(watchDir), STATUS);
}

/** Replaces status.json (atomically, without fsync: it is rewritten every few hundred ms). */
export function writeWatcherStatus(watchDir: string, doc: WatcherStatusDoc): Promise<void> {
  return writeDocument(watchFiles.status(watchDir), doc, { fsync: false });
}
