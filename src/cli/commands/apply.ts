import { renderApplyJson } from "../../render/plan-json.ts";
import { renderResult, renderSummary } from "../../render/plan-text.ts";
import { convergeNode } from "../../reconcile/converge.ts";
import { withApplyLock } from "../../reconcile/lock.ts";
import { systemHost } from "../../resources/host.ts";
import type { ApplyResult } from "../../resources/plan-types.ts";
import type { FollowedWatcher } from "../follow-sync.ts";
import { watcherCommand } from "../watcher-command.ts";
import { acceptedNames, applyAcceptSource } from "../accept-source.ts";
import { loadForNode, printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// Watchers this apply started (create or restart) and that do an initial sync.
function startedWatchers(results: readonly ApplyResult[]): FollowedWatcher[] {
  return results.flatMap((r) => {
    if (r.change.kind !== "watcher" || r.status !== "changed" || r.change.op === "delete" || r.pid === undefined) return [];
    const w = r.change.want;
    return w && w.spec.initialSync ? [{ name: w.name, pid: r.pid, watchDir: w.spec.stateDir }] : [];
  });
}

// `rtsync apply`: each change printed as it is made, then `N changed, N unchanged, N failed`.
export async function applyCommand(file: string, opts: CommonOptions, io: Output, flags: Readonly<Record<string, unknown>> = {}): Promise<number> {
  const { resolved, warnings } = await loadForNode(file, opts);
  const accept = acceptedNames(flags["acceptSource"]);
  if (!opts.json) printWarnings(warnings, io);
  const text = !opts.json;
  const stateWarnings: string[] = [];
  const done = await withApplyLock(resolved.stateDir, resolved.file, async () => {
    await applyAcceptSource(resolved, accept);
    return convergeNode(resolved, systemHost(), process.env, {
      selfCommand: watcherCommand(),
      onStart: (plan) => {
        stateWarnings.push(...plan.warnings);
        if (!text) return;
        printWarnings([], io, plan.warnings);
        io.out(`rtsync apply: ${plan.manifest} on node ${plan.node}`);
      },
      onResult: (r) => text && renderResult(r, io).forEach((l) => io.out(l)),
    });
  });
  if (opts.json) io.out(JSON.stringify(renderApplyJson(done.plan, done.results, done.summary, warningsJson(warnings, stateWarnings)), null, 2));
  else io.out(renderSummary(done.summary));
  const started = startedWatchers(done.results);
  // On a terminal, show the initial sync of the watchers just started (after the lock is released).
  if (io.interactive && text && started.length > 0) {
    const { followInitialSyncs } = await import("../follow-sync.ts");
    const stop = new AbortController();
    const onInt = () => stop.abort();
    process.once("SIGINT", onInt);
    try {
      await followInitialSyncs(started, (t) => io.write(t), stop.signal);
    } finally {
      process.off("SIGINT", onInt);
    }
  }
  return done.summary.failed > 0 ? 1 : 0;
}
