import { appendFile, readFile, rename, stat } from "node:fs/promises";
import * as z from "zod/mini";
import { describeErrno, errnoOf, StateError } from "../core/errors.ts";
import { watchFiles } from "./layout.ts";
import { HALT_REASONS, RUN_OUTCOMES } from "./watcher-status.ts";
import { SOURCE_KINDS } from "./watch-spec.ts";

// The watcher's log (WATCHDIR/log.jsonl): one JSON object per line for each batch it ran, each
// batch it gave up, each failure of its event source, its start and its stop. Records of one
// target's lane name it (`target`, the lane's key; absent in logs of watchers before issue 14). Appended by the
// watcher process only, rotated to log.jsonl.1 past 5 MB. Read by tests, the benchmark and
// operators (`jq`); the reader skips lines it cannot parse rather than failing on a torn write.

const LOG_MAX_BYTES = 5 * 1024 * 1024;

const RenameStepSchema = z.object({
  from: z.string(),
  to: z.string(),
  outcome: z.enum(RUN_OUTCOMES),
  exitCode: z.number(),
  bytes: z.nullable(z.number()),
  messages: z.optional(z.array(z.string())),
});

export const LogRecordSchema = z.discriminatedUnion("type", [
  z.object({
    at: z.string(),
    type: z.literal("run"),
    /** The lane's key (TargetSpec.key); absent before issue 14 (one target). */
    target: z.optional(z.string()),
    kind: z.enum(["incremental", "full"]),
    /** Why: "changes", or for a full sync "initial sync", "schedule", "watcher restarted", "too many changes", "repair". */
    reason: z.string(),
    /** Incremental: the paths listed. Full: the files rsync transferred (older watchers wrote 0). */
    paths: z.number(),
    /** Full syncs: what rsync deleted on the target. */
    deleted: z.optional(z.nullable(z.number())),
    bytes: z.nullable(z.number()),
    durationMs: z.number(),
    exitCode: z.number(),
    outcome: z.enum(RUN_OUTCOMES),
    messages: z.optional(z.array(z.string())),
    /** A batch with renamed directories runs one rsync per rename first (the daemon logs each). */
    renames: z.optional(z.array(RenameStepSchema)),
    /** Full syncs but the initial one: paths it created, updated or deleted that the events never reported. */
    repaired: z.optional(z.number()),
  }),
  /** A warning: a full sync repaired paths the events never reported (a deleted module, an edited replica, a missed event). */
  z.object({ at: z.string(), type: z.literal("repaired"), level: z.literal("warning"), target: z.optional(z.string()), reason: z.string(), paths: z.number(), sample: z.array(z.string()), message: z.string() }),
  z.object({
    at: z.string(),
    type: z.literal("gave-up"),
    target: z.optional(z.string()),
    runKind: z.enum(["incremental", "full"]),
    paths: z.number(),
    sample: z.array(z.string()),
    outcome: z.string(),
    /** rsync's reasons ("Permission denied (13) on the target") and its first error line. */
    reasons: z.optional(z.array(z.string())),
    detail: z.optional(z.nullable(z.string())),
  }),
  /** A full sync to repair what was given up, and when it starts. */
  z.object({ at: z.string(), type: z.literal("repair-scheduled"), target: z.optional(z.string()), repairAt: z.string(), attempt: z.number() }),
  /** The job stopped running rsync: its source looks unmounted or emptied, or maxDelete was hit. */
  z.object({ at: z.string(), type: z.literal("halted"), target: z.optional(z.string()), reason: z.enum(HALT_REASONS), message: z.string() }),
  /** A halt ended by itself (the recorded source root is back); a full sync follows. */
  z.object({ at: z.string(), type: z.literal("resumed"), target: z.optional(z.string()), message: z.string() }),
  z.object({ at: z.string(), type: z.literal("source-error"), reason: z.string(), message: z.string(), retryInMs: z.number() }),
  z.object({ at: z.string(), type: z.literal("watching"), watcher: z.enum(SOURCE_KINDS), watches: z.number() }),
  /** `targets`: what each lane still had pending (absent before issue 14). */
  z.object({ at: z.string(), type: z.literal("stopped"), pending: z.number(), targets: z.optional(z.array(z.object({ target: z.string(), pending: z.number() }))) }),
  z.object({ at: z.string(), type: z.literal("overflow"), watcher: z.enum(SOURCE_KINDS), message: z.string() }),
  /** The directories inotify would not watch changed (a warning; count 0: all are watched again). */
  z.object({ at: z.string(), type: z.literal("unwatched"), count: z.number(), sample: z.array(z.string()), message: z.string() }),
]);
export type LogRecord = z.infer<typeof LogRecordSchema>;

/** Appends one record to log.jsonl, moving a log past 5 MB to log.jsonl.1 first. */
export async function appendLogRecord(watchDir: string, record: LogRecord): Promise<void> {
  const file = watchFiles.log(watchDir);
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size > LOG_MAX_BYTES) await rename(file, `${file}.1`);
  await appendFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/** The records of log.jsonl in order (lines that do not parse are skipped); [] when there is none. */
export async function readLogRecords(watchDir: string): Promise<LogRecord[]> {
  const file = watchFiles.log(watchDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return [];
    throw new StateError(file, "io", `cannot read ${file}: ${describeErrno(error)}`, { cause: error });
  }
  const out: LogRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const parsed = LogRecordSchema.safeParse(JSON.parse(line));
      if (parsed.success) out.push(parsed.data);
    } catch {
      // a torn last line while the watcher appends
    }
  }
  return out;
}
