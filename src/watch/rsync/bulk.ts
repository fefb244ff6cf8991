import type { Batch } from "../batching/types.ts";

// Which runs yield the CPU. The watch host runs every job of a node, and on a node with few cores
// a storm's runs (and the rsync processes they start, a local receiver included) take the CPU
// that a quiet job's one-file push needs: the isolation bench measured a quiet job's latency at
// 2.7-3.4x its usual during another job's storm. So bulk work runs at nice 10, and small runs of
// other jobs and lanes keep their latency. Nice costs nothing on an idle machine: it only orders
// who runs first when the CPU is short.
//
// Bulk is a full sync, a batch of more than BULK_PATHS paths, or the next run of a lane that is
// working through a backlog: its previous run took BUSY_RUN_MS or more and ended just now. The
// last is what a storm looks like from inside: a storm of new directories goes out in batches of
// a few dozen paths (a new directory is one path, sent with everything under it) that each take
// seconds, so a count of paths alone never sees it.

/** The nice value of bulk runs. */
export const BULK_NICE = 10;
/** An incremental batch of more paths than this is bulk. */
const BULK_PATHS = 1000;
/** A run that took this long is a busy lane's... */
const BUSY_RUN_MS = 250;
/** ...when the next one starts within this long of its end. */
const BACKLOG_GAP_MS = 1000;

/** A lane's previous incremental run, as far as the choice needs it (a full sync is no backlog). */
export interface PreviousRun {
  readonly durationMs: number;
  /** Epoch ms. */
  readonly endedAt: number;
}

/** Whether `batch` runs niced (BULK_NICE). Pure: the time comes in. */
export function isBulkRun(batch: Batch, previous: PreviousRun | undefined, now: number): boolean {
  if (batch.kind === "full" || batch.entries.size > BULK_PATHS) return true;
  return previous !== undefined && previous.durationMs >= BUSY_RUN_MS && now - previous.endedAt < BACKLOG_GAP_MS;
}
