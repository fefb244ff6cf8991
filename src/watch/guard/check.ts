import type { HaltReason } from "../../state/watcher-status.ts";
import type { LaneSpec } from "../../state/watch-spec.ts";
import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { buildTargetListArgs } from "../rsync/args.ts";
import { runRsync, type RsyncResult } from "../rsync/run.ts";
import { baselineOf, guardHaltMessage, planEmptySourceGuard, planSourceGuard, type GuardStep, type SourceBaseline } from "./decide.ts";
import { readSourceRoot } from "./source-root.ts";

// Runs the deletion guard before a full sync (rules in decide.ts): reads the source root and,
// when it is empty, lists the target's top level.

export type GuardOutcome =
  | { readonly kind: "run" }
  | { readonly kind: "halt"; readonly reason: HaltReason; readonly message: string }
  /** The target could not be listed: the full sync fails as that listing did (and is retried). */
  | { readonly kind: "failed"; readonly result: RsyncResult };

export interface GuardInput {
  /** The lane whose full sync this is: the source side is the watch's, the listing is of its target. */
  readonly spec: LaneSpec;
  readonly excluded: ExcludeMatcher;
  readonly baseline: SourceBaseline | undefined;
  readonly signal: AbortSignal;
}

/** Whether `rsync --list-only DIR/` printed any entry but the directory itself ("."). Pure. */
export function listingHasEntries(output: string): boolean {
  return output.split(/\r?\n/).some((line) => {
    const m = /^\S{10}\s+[\d,.']+ \S+ \S+ (.*)$/.exec(line);
    return m?.[1] !== undefined && m[1] !== ".";
  });
}

// A target directory that does not exist yet holds nothing to delete.
function targetMissing(result: RsyncResult): boolean {
  return result.exitCode === 23 && result.messages.some((m) => /change_dir .* failed: No such file or directory/.test(m));
}

/** The guard's verdict, and the baseline to keep (taken from this observation when there was none). */
export async function checkFullSync(input: GuardInput): Promise<{ readonly outcome: GuardOutcome; readonly baseline: SourceBaseline | undefined }> {
  const { spec } = input;
  const root = await readSourceRoot(spec.source, input.excluded);
  const baseline = input.baseline ?? baselineOf(root);
  let step: GuardStep = planSourceGuard(root, baseline);
  if (step.verdict === "ask-target") {
    const listing = await runRsync({
      args: buildTargetListArgs(spec),
      binary: spec.rsync,
      ...(spec.ssh === undefined ? {} : { ssh: spec.ssh }),
      ...(spec.setpriv === undefined ? {} : { setpriv: spec.setpriv }),
      signal: input.signal,
      keepOutput: true,
    });
    if (listing.outcome === "ok") step = planEmptySourceGuard(listingHasEntries(listing.output ?? ""));
    else if (targetMissing(listing)) step = planEmptySourceGuard(false);
    else return { outcome: { kind: "failed", result: listing }, baseline };
  }
  switch (step.verdict) {
    case "run":
    case "ask-target":
      return { outcome: { kind: "run" }, baseline };
    case "halt":
      return { outcome: { kind: "halt", reason: step.reason, message: guardHaltMessage(spec.source, step.detail) }, baseline };
  }
}
