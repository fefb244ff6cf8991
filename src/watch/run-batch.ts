import type { Batch } from "./batcher.ts";
import { buildFilterList } from "./filter-list.ts";
import { planEntriesAfterRenames, planRenameSteps } from "./rename-plan.ts";
import { buildFullArgs, buildIncrementalArgs } from "./rsync-args.ts";
import type { Progress } from "./rsync-result.ts";
import { runRsync, type RsyncResult } from "./rsync-run.ts";
import type { WatchSpec } from "./spec.ts";

// Runs one batch: a full sync, or an incremental run preceded by a rename step per renamed
// directory. A rename step that fails changes nothing: the incremental run then sends the new
// directory in full, as it would without the step.

export interface BatchRunOptions {
  readonly signal: AbortSignal;
  readonly rsyncBinary?: string;
  readonly onProgress?: (progress: Progress) => void;
}

export async function runBatch(spec: WatchSpec, batch: Batch, options: BatchRunOptions): Promise<RsyncResult> {
  const common = { signal: options.signal, ...(options.rsyncBinary === undefined ? {} : { binary: options.rsyncBinary }) };
  if (batch.kind === "full") {
    return runRsync({ ...common, args: buildFullArgs(spec, { progress: true }), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  }
  const started = performance.now();
  const done: string[] = [];
  let renameBytes = 0;
  for (const step of planRenameSteps(spec, batch.renames)) {
    if (options.signal.aborted) break;
    const result = await runRsync({ ...common, args: step.args });
    renameBytes += result.bytesSent ?? 0;
    if (result.outcome === "ok") done.push(step.to);
  }
  const entries = planEntriesAfterRenames(batch.entries, done);
  const main = await runRsync({ ...common, args: buildIncrementalArgs(spec), input: buildFilterList(entries) });
  if (done.length === 0 && renameBytes === 0) return main;
  return {
    ...main,
    durationMs: Math.round(performance.now() - started),
    ...(main.bytesSent === undefined ? {} : { bytesSent: main.bytesSent + renameBytes }),
  };
}
