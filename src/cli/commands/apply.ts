import { existsSync } from "node:fs";
import { matchNode } from "../../manifest/node-match.ts";
import { renderApplyJson } from "../../render/plan-json.ts";
import { renderResult, renderSummary } from "../../render/plan-text.ts";
import { convergeNode } from "../../reconcile/converge.ts";
import { withApplyLock } from "../../reconcile/lock.ts";
import { readRsyncVersionWarnings } from "../../reconcile/rsync-version.ts";
import { systemHost } from "../../resources/host.ts";
import type { ApplyResult } from "../../resources/plan-types.ts";
import type { FollowedWatcher } from "../follow-sync.ts";
import { watcherCommand } from "../watcher-command.ts";
import { acceptedNames, applyAcceptSource } from "../accept-source.ts";
import { loadForNode, printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";
import { findRecreatedModules, recreatedReason, requestRefills } from "../../agent/module-recreated.ts";
import { messageOf } from "../../core/errors.ts";
import type { ResolvedManifest } from "../../manifest/resolve.ts";

// Watchers this apply started (create or restart) and that do an initial sync.
function startedWatchers(results: readonly ApplyResult[]): FollowedWatcher[] {
  return results.flatMap((r) => {
    if (r.change.kind !== "watcher" || r.status !== "changed" || r.change.op === "delete" || r.pid === undefined) return [];
    const w = r.change.want;
    return w && w.spec.initialSync ? [{ name: w.name, pid: r.pid, watchDir: w.spec.stateDir }] : [];
  });
}

// A module directory created again under its running daemon: say so, and have the local watches
// that replicate into it fill it now (agent/module-recreated.ts, as the agent does).
async function refillRecreatedModules(resolved: ResolvedManifest, results: readonly ApplyResult[], io: Output | undefined): Promise<void> {
  const recreated = findRecreatedModules(resolved, results);
  if (recreated.length === 0) return;
  const asked = await requestRefills(resolved, systemHost(), recreated).catch((e: unknown): string[] => {
    io?.err(`rtsync apply: cannot request the full sync that refills a recreated module: ${messageOf(e)}`);
    return [];
  });
  for (const r of recreated) {
    const mine = r.watches.map((w) => w.name).filter((name) => asked.includes(name));
    const refill = mine.length > 0 ? `full sync requested from watch ${mine.join(", ")}` : "the senders' next full sync fills it";
    io?.err(`rtsync apply: warning: ${recreatedReason(r)} (it was removed while the daemon ran): ${refill}`);
  }
}

// `rtsync apply`: each change printed as it is made, then `N changed, N unchanged, N failed`.
export async function applyCommand(file: string, opts: CommonOptions, io: Output, flags: Readonly<Record<string, unknown>> = {}): Promise<number> {
  const { resolved, warnings, policy, manifest } = await loadForNode(file, opts);
  const accept = acceptedNames(flags["acceptSource"]);
  if (!opts.json) printWarnings(warnings, io);
  // A node that runs nothing of the manifest and has never run any of it (no stateDir): nothing to
  // converge or prune, and nothing is created (a --node typo leaves no trace).
  if (!matchNode(manifest, resolved.node).matched && !existsSync(resolved.stateDir)) {
    const summary = { changed: 0, unchanged: 0, failed: 0 };
    if (opts.json) io.json(renderApplyJson({ manifest: resolved.file, node: resolved.node, changes: [], unchanged: [], warnings: [] }, [], summary, warningsJson(warnings)));
    else io.out(`rtsync apply: nothing runs on node ${resolved.node}; ${renderSummary(summary)}`);
    return 0;
  }
  const text = !opts.json;
  // A daemon runs only on an rsync without the 2024 CVEs (throws), and is warned about without the 2026 fixes.
  const stateWarnings: string[] = resolved.daemons.length > 0 ? await readRsyncVersionWarnings(process.env["PATH"] ?? "/usr/bin:/bin", policy?.policy.rsync?.acceptVersion) : [];
  if (text) printWarnings([], io, stateWarnings);
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
  if (opts.json) io.json(renderApplyJson(done.plan, done.results, done.summary, warningsJson(warnings, stateWarnings)));
  else io.out(renderSummary(done.summary));
  await refillRecreatedModules(resolved, done.results, text ? io : undefined);
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
