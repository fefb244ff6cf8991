import type { Progress } from "../rsync/result.ts";
import type { RenameStepResult } from "../rsync/batch.ts";
import type { ResolvedWatcher, WatchSourceErrorReason } from "../sources/source.ts";

// What the engine reports. The library never prints: the watcher process (main.ts) turns these
// into status.json and log.jsonl, and tests observe them. Times are epoch ms.

export type RunKind = "incremental" | "full";

export interface RunSummary {
  readonly kind: RunKind;
  /**
   * Why a full sync ran ("initial sync", "schedule", "watcher restarted", "too many changes",
   * "events dropped (inotify queue overflow)", a source's rescan reason); "changes" otherwise.
   */
  readonly reason: string;
  /** Paths listed (incremental) or 0 (full). */
  readonly paths: number;
  readonly exitCode: number;
  readonly outcome: "ok" | "transient" | "partial" | "fatal" | "cancelled";
  readonly durationMs: number;
  /** Bytes of the whole batch, its rename steps included. */
  readonly bytesSent?: number;
  readonly messages: readonly string[];
  /** The rsync runs that preceded the incremental run, one per renamed directory. */
  readonly renameSteps?: readonly RenameStepResult[];
}

export type EngineEvent =
  | { readonly type: "source-ready"; readonly at: number; readonly watcher: ResolvedWatcher; readonly watches: number; readonly why?: string }
  /** The kernel's event queue overflowed: events were dropped, a full sync follows at once. */
  | { readonly type: "overflow"; readonly at: number; readonly watcher: ResolvedWatcher }
  | { readonly type: "source-error"; readonly at: number; readonly reason: WatchSourceErrorReason; readonly message: string; readonly retryInMs: number }
  | { readonly type: "changes"; readonly at: number; readonly count: number; readonly pending: number }
  | { readonly type: "run-start"; readonly at: number; readonly kind: RunKind; readonly paths: number; readonly reason: string }
  | { readonly type: "run-progress"; readonly at: number; readonly progress: Progress }
  | { readonly type: "run-done"; readonly at: number; readonly run: RunSummary; readonly pending: number; readonly retryAt?: number }
  | {
      readonly type: "gave-up";
      readonly at: number;
      readonly kind: RunKind;
      /** A few of the paths left to the next full sync (display form). */
      readonly sample: readonly string[];
      readonly paths: number;
      readonly outcome: string;
    }
  | { readonly type: "retry-scheduled"; readonly at: number; readonly retryAt: number; readonly attempt: number }
  | { readonly type: "full-sync-scheduled"; readonly at: number; readonly nextAt: number }
  | { readonly type: "stopping"; readonly at: number }
  | { readonly type: "stopped"; readonly at: number; readonly pending: number };
