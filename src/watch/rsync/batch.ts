import type { Batch } from "../batching/types.ts";
import { buildFilterList } from "./filter-list.ts";
import { planEntriesAfterRenames, planRenameSteps } from "./rename-plan.ts";
import { buildFullArgs, buildIncrementalArgs } from "./args.ts";
import { displayPath, type BytePath } from "../byte-path.ts";
import type { Progress } from "../../state/watcher-status.ts";
import { runRsync, type RsyncResult } from "./run.ts";
import { parseItemizedChange, type ItemizedChange } from "./itemized.ts";
import { readChildrenCpu } from "./child-cpu.ts";
import { BULK_NICE } from "./bulk.ts";
import { DAEMON_CPU_FACTOR } from "../engine/adaptive-schedule.ts";
import type { LaneSpec } from "../../state/watch-spec.ts";

// Runs one batch: a full sync, or an incremental run preceded by a rename step per renamed
// directory. A rename step that fails changes nothing: the incremental run then sends the new
// directory in full, as it would without the step.

export interface BatchRunOptions {
  readonly signal: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  /** A full sync calls it for each path it created, updated or deleted on the target. */
  readonly onChanged?: (change: ItemizedChange) => void;
  /** A run of the batch stalled (epoch ms of its last byte), or moves data again (undefined). */
  readonly onStall?: (lastMovedAt: number | undefined) => void;
  /**
   * The source root, opened and checked by the identity gate: rsync reads the tree from this
   * descriptor (its fd 3, /proc/self/fd/3/), not from the path, so a root replaced or covered
   * between the check and the run cannot be mirrored onto the target.
   */
  readonly sourceFd?: number;
  /** An incremental run that is bulk work (bulk.ts isBulkRun): it runs at BULK_NICE. A full sync always does. */
  readonly bulk?: boolean;
}

/** One rename step as it went: its own rsync run, reported beside the batch's. */
export interface RenameStepResult {
  readonly from: string;
  readonly to: string;
  readonly outcome: RsyncResult["outcome"];
  readonly exitCode: number;
  readonly bytesSent?: number;
  readonly messages: readonly string[];
}

/** Where rsync finds the pinned source root: the descriptor it was given as fd 3. */
const PINNED_SOURCE = "/proc/self/fd/3";

/** The batch's result: the incremental (or full) run, its bytes and time including the rename steps. */
export type BatchResult = RsyncResult & { readonly renameSteps?: readonly RenameStepResult[] };

export async function runBatch(laneSpec: LaneSpec, batch: Batch, options: BatchRunOptions): Promise<BatchResult> {
  const spec = options.sourceFd === undefined ? laneSpec : { ...laneSpec, source: PINNED_SOURCE };
  const common = { signal: options.signal, binary: spec.rsync, ...(spec.ssh === undefined ? {} : { ssh: spec.ssh }), ...(options.onStall ? { onStall: options.onStall } : {}), ...(options.sourceFd === undefined ? {} : { fd3: options.sourceFd }) };
  // Full syncs and rename steps can run for minutes: they die with the watcher (children.ts).
  // Incremental runs are the latency path, where setpriv's exec cost 1.5-5 ms of a 15-35 ms push;
  // one that outlives a killed watcher finishes the batch it was given and exits.
  const dies = spec.setpriv === undefined ? {} : { setpriv: spec.setpriv };
  // Bulk work yields the CPU (bulk.ts): a full sync, or a batch of a storm, runs niced, so the
  // small runs of other jobs (the watch host runs them all) and of other lanes keep their latency.
  if (batch.kind === "full") {
    const onChanged = options.onChanged;
    const itemized =
      onChanged === undefined
        ? {}
        : {
            onLine: (line: string): void => {
              const change = parseItemizedChange(line);
              if (change !== undefined) onChanged(change);
            },
          };
    const args = buildFullArgs(spec, { progress: true, itemize: onChanged !== undefined });
    const cpuBefore = await readChildrenCpu();
    const result = await runRsync({ ...common, ...dies, args, nice: BULK_NICE, ...itemized, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
    const cpuAfter = await readChildrenCpu();
    if (cpuBefore === undefined || cpuAfter === undefined) return result;
    // Ours is measured (a local receiver is our child's child: included); a daemon's is estimated.
    return { ...result, cpuSeconds: (cpuAfter - cpuBefore) * (spec.daemonTarget ? DAEMON_CPU_FACTOR : 1) };
  }
  const started = performance.now();
  const done: BytePath[] = [];
  const steps: RenameStepResult[] = [];
  for (const step of planRenameSteps(spec, batch.renames)) {
    if (options.signal.aborted) break;
    const result = await runRsync({ ...common, ...dies, args: step.args });
    steps.push({
      from: displayPath(step.from),
      to: displayPath(step.to),
      outcome: result.outcome,
      exitCode: result.exitCode,
      ...(result.bytesSent === undefined ? {} : { bytesSent: result.bytesSent }),
      messages: result.messages,
    });
    if (result.outcome === "ok") done.push(step.to);
  }
  const entries = planEntriesAfterRenames(batch.entries, done);
  const main = await runRsync({ ...common, args: buildIncrementalArgs(spec), input: buildFilterList(entries), ...(options.bulk === true ? { nice: BULK_NICE } : {}) });
  if (steps.length === 0) return main;
  const stepBytes = steps.reduce((n, s) => n + (s.bytesSent ?? 0), 0);
  return {
    ...main,
    durationMs: Math.round(performance.now() - started),
    ...(main.bytesSent === undefined ? {} : { bytesSent: main.bytesSent + stepBytes }),
    renameSteps: steps,
  };
}
