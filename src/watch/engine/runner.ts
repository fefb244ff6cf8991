import type { HaltReason } from "../../state/watcher-status.ts";
import type { LaneSpec } from "../../state/watch-spec.ts";
import type { Batch } from "../batching/types.ts";
import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { checkFullSync } from "../guard/check.ts";
import { haltScope, type SourceBaseline } from "../guard/decide.ts";
import { identityHaltMessage } from "../guard/identity.ts";
import type { IdentityGate } from "../guard/identity-gate.ts";
import { runBatch, type BatchResult } from "../rsync/batch.ts";
import type { LaneHooks } from "./lane.ts";

// One run of one lane, as the engine carries it out: every run passes the identity gate and runs
// on the root it checked (pinned by a descriptor, handed to rsync), a full sync the deletion guard
// too (source checks, the listing of the target). It halts nothing itself: a refusal comes back as
// a value that says which lanes it concerns, and the engine (engine.ts) halts them.
//
//   pin (identity gate) --refused--> halted, scope "job" (every lane; the job watches for the root's return)
//     | ok
//   full sync? --root reported gone--> halted, scope "job"
//     |        --deletion guard------> halted, scope "watch" (every other lane too) or "target" (this lane)
//     |        --target unlisted-----> the listing's failed result (retried like any run)
//   runBatch (rsync on the pinned root) --> its result

/** Which lanes a halt concerns: this one, every lane of the watch, or every lane with the job's resume poll. */
export type HaltScope = "target" | "watch" | "job";

export interface HaltReport {
  readonly reason: HaltReason;
  readonly message: string;
  readonly scope: HaltScope;
}

/** What one run did: rsync's result, or a halt (the run never started). */
export type RunReport = BatchResult | { readonly halted: HaltReport };

/**
 * What the job knows of its source root, shared by its lanes: the baseline every deletion guard
 * compares against (taken at start, or from the first full sync), and whether the event source
 * reported the root gone. The engine owns it; a full sync's guard updates the baseline.
 */
export interface SourceRootState {
  baseline: SourceBaseline | undefined;
  gone: boolean;
}

export interface RunnerInputs {
  /** The watch's name and source root (for messages). */
  readonly watch: string;
  readonly source: string;
  readonly lane: LaneSpec;
  readonly excluded: ExcludeMatcher;
  readonly identity: Pick<IdentityGate, "pin">;
  readonly root: SourceRootState;
}

/** Runs `batch` for `inputs.lane` if the gate and (for a full sync) the guard let it; `bulk`: at nice 10 (rsync/bulk.ts). */
export async function runLaneBatch(inputs: RunnerInputs, batch: Batch, signal: AbortSignal, hooks: LaneHooks, bulk = false): Promise<RunReport> {
  const pinned = await inputs.identity.pin();
  if (!pinned.ok) return { halted: { reason: pinned.reason, message: pinned.message, scope: "job" } };
  try {
    return await runPinned(inputs, batch, signal, hooks, pinned.root.fd, bulk);
  } finally {
    await pinned.root.close();
  }
}

// One run on the pinned source root (rsync reads it from the descriptor the gate opened).
async function runPinned(inputs: RunnerInputs, batch: Batch, signal: AbortSignal, hooks: LaneHooks, sourceFd: number, bulk: boolean): Promise<RunReport> {
  const { lane, root } = inputs;
  if (batch.kind === "full" && root.gone) {
    return { halted: { reason: "source-changed", message: identityHaltMessage(inputs.watch, `the event source reports the source root ${inputs.source} gone`), scope: "job" } };
  }
  if (batch.kind === "full") {
    const guard = await checkFullSync({ spec: lane, excluded: inputs.excluded, baseline: root.baseline, signal });
    root.baseline = guard.baseline;
    if (guard.outcome.kind === "halt") {
      const { reason, message } = guard.outcome;
      // The source is the watch's: every other lane would mirror the same wrong tree.
      return { halted: { reason, message, scope: haltScope(reason) === "watch" ? "watch" : "target" } };
    }
    if (guard.outcome.kind === "failed") {
      hooks.start();
      return guard.outcome.result;
    }
  }
  hooks.start();
  return runBatch(lane, batch, {
    signal,
    sourceFd,
    bulk,
    onProgress: hooks.progress,
    ...(hooks.changed === undefined ? {} : { onChanged: hooks.changed }),
    ...(hooks.stall ? { onStall: hooks.stall } : {}),
  });
}
