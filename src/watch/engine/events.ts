import type { SourceKind } from "../../state/watch-spec.ts";
import type { HaltReason, Progress, RunOutcome } from "../../state/watcher-status.ts";
import type { RenameStepResult } from "../rsync/batch.ts";
import type { UnwatchedDir, WatchSourceErrorReason } from "../sources/source.ts";

// What the engine reports. The library never prints: the watcher process (main.ts) turns these
// into status.json and log.jsonl, and tests observe them. Times are epoch ms. Events of a lane
// (one target) carry its key as `target`; events of the watch (its source, start, stop) do not.

export type RunKind = "incremental" | "full";

export interface RunSummary {
  readonly kind: RunKind;
  /**
   * Why a full sync ran ("initial sync", "schedule", "watcher restarted", "too many changes",
   * "repair", "events dropped (inotify queue overflow)", a source's rescan reason); "changes" otherwise.
   */
  readonly reason: string;
  /** Paths listed (incremental), or the files rsync transferred (full; 0 when it did not say). */
  readonly paths: number;
  /** Full syncs: what rsync deleted on the target (--info=stats2). */
  readonly deleted?: number;
  readonly exitCode: number;
  readonly outcome: RunOutcome;
  readonly durationMs: number;
  /** Bytes of the whole batch, its rename steps included. */
  readonly bytesSent?: number;
  readonly messages: readonly string[];
  /** The rsync runs that preceded the incremental run, one per renamed directory. */
  readonly renameSteps?: readonly RenameStepResult[];
  /**
   * Full syncs (not the initial one): paths it created, updated or deleted on the target that the
   * events did not have pending, i.e. a divergence the events never saw (engine/repair-count.ts).
   */
  readonly repaired?: number;
}

/** Events of one lane: `target` is its key (TargetSpec.key). */
export type LaneEvent =
  /** Changes handed to the lane's batcher; `pending` is the lane's. */
  | { readonly type: "changes"; readonly at: number; readonly target: string; readonly count: number; readonly pending: number }
  | { readonly type: "run-start"; readonly at: number; readonly target: string; readonly kind: RunKind; readonly paths: number; readonly reason: string }
  | { readonly type: "run-progress"; readonly at: number; readonly target: string; readonly progress: Progress }
  /** The run in flight moved no data for longer than rsync's keep-alive lull (`lastMovedAt`: its last byte), or moves again (null). */
  | { readonly type: "run-stalled"; readonly at: number; readonly target: string; readonly lastMovedAt: number | null }
  | { readonly type: "run-done"; readonly at: number; readonly target: string; readonly run: RunSummary; readonly pending: number }
  | {
      readonly type: "gave-up";
      readonly at: number;
      readonly target: string;
      readonly kind: RunKind;
      /** A few of the paths given up (display form). */
      readonly sample: readonly string[];
      readonly paths: number;
      readonly outcome: string;
      /** rsync's reasons ("Permission denied (13) on the target") and its first error line. */
      readonly reasons: readonly string[];
      readonly detail?: string;
    }
  | { readonly type: "retry-scheduled"; readonly at: number; readonly target: string; readonly retryAt: number; readonly attempt: number; readonly outcome: RunOutcome }
  /** A full sync will repair what was given up, at `repairAt` (epoch ms); `attempt` counts from 1. */
  | { readonly type: "repair-scheduled"; readonly at: number; readonly target: string; readonly repairAt: number; readonly attempt: number }
  /** Changes not on this target yet (waiting, in flight, waiting for a retry or a repair) changed. */
  | { readonly type: "pending"; readonly at: number; readonly target: string; readonly pending: number }
  /** The lane stopped running rsync (until the watcher is restarted, or the cause is gone: resumed). */
  | { readonly type: "halted"; readonly at: number; readonly target: string; readonly reason: HaltReason; readonly message: string }
  /** A halt ended by itself (the recorded source root is back); a full sync follows. */
  | { readonly type: "resumed"; readonly at: number; readonly target: string; readonly message: string }
  | { readonly type: "full-sync-scheduled"; readonly at: number; readonly target: string; readonly nextAt: number }
  /** A full sync was asked for from outside (the agent recreated the target's module): the lane is Degraded until one succeeds. */
  | { readonly type: "full-sync-requested"; readonly at: number; readonly target: string; readonly reason: string }
  /** A full sync repaired `count` paths the events never reported (a warning: something was missed); `sample` names a few. */
  | { readonly type: "repaired"; readonly at: number; readonly target: string; readonly reason: string; readonly count: number; readonly sample: readonly string[] }
  /**
   * An early send ended: changes that arrived while a full sync ran, sent beside it so they show on
   * the target at once. Only a head start: they are still sent after the full sync (lane.ts), so
   * it changes nothing in the lane's state, pending count or health. Also a run beside a long
   * incremental run in flight (reason "beside a run in flight", overlap-run.ts): its paths are
   * done when it is ok, and go back to the lane's pending set otherwise.
   */
  | { readonly type: "early-run-done"; readonly at: number; readonly target: string; readonly run: RunSummary };

/** Events of the watch as a whole: its event source, its start and its stop. */
export type WatchEvent =
  | { readonly type: "source-ready"; readonly at: number; readonly watcher: SourceKind; readonly watches: number; readonly why?: string }
  /** The kernel's event queue overflowed: events were dropped, a full sync of every lane follows at once. */
  | { readonly type: "overflow"; readonly at: number; readonly watcher: SourceKind }
  /**
   * The directories the source could not watch changed (all of them; empty: every directory is
   * watched again). `maxUserWatches` is fs.inotify.max_user_watches when one hit the watch limit.
   */
  | { readonly type: "unwatched"; readonly at: number; readonly dirs: readonly UnwatchedDir[]; readonly maxUserWatches?: number }
  | { readonly type: "source-error"; readonly at: number; readonly reason: WatchSourceErrorReason; readonly message: string; readonly retryInMs: number }
  | { readonly type: "stopping"; readonly at: number }
  /** `targets`: what each lane still had pending (the next start's full sync sends it). */
  | { readonly type: "stopped"; readonly at: number; readonly pending: number; readonly targets: ReadonlyArray<{ readonly target: string; readonly pending: number }> };

export type EngineEvent = LaneEvent | WatchEvent;
