import type { ResolvedManifest } from "../../manifest/resolve.ts";
import { applyPlan, type ApplyResult } from "../../reconcile/apply.ts";
import { acquireApplyLock } from "../../reconcile/lock.ts";
import { prepare } from "../../reconcile/prepare.ts";
import type { Change, Desired } from "../../reconcile/types.ts";
import type { FollowedWatcher } from "../follow-sync.ts";
import { renderPlan, renderResult, renderSummary, summarise } from "../../render/plan-text.ts";
import { systemHost } from "../../resources/host.ts";
import { loadResolved } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// diff, apply, status and down: load the manifest for this node, then read -> plan -> apply.

export interface ReconcileOptions {
  readonly node?: string;
  readonly json: boolean;
}

// What --json shows of a change: everything but colour, never a secret (the plan holds none).
function changeJson(c: Change) {
  return {
    id: c.id,
    kind: c.kind,
    op: c.op,
    title: c.title,
    details: c.details,
    ...(c.blocked ? { blocked: c.blocked } : {}),
    ...(c.secrets ? { secrets: c.secrets } : {}),
    data: c.data,
  };
}

function json(io: Output, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

// `rtsync diff`: exit 0 in sync, 2 drift, 1 when a change cannot be applied as planned.
export async function diff(file: string, opts: ReconcileOptions, io: Output): Promise<number> {
  const m = await loadResolved(file, opts, io);
  const { plan } = await prepare(m, systemHost(), process.env);
  const blocked = plan.changes.some((c) => c.blocked);
  const code = blocked ? 1 : plan.changes.length > 0 ? 2 : 0;
  if (opts.json) {
    json(io, { manifest: plan.manifest, node: plan.node, inSync: plan.changes.length === 0, changes: plan.changes.map(changeJson), unchanged: plan.unchanged });
  } else {
    for (const line of renderPlan(plan, io)) io.out(line);
  }
  return code;
}

async function withLock<T>(m: ResolvedManifest, f: () => Promise<T>): Promise<T> {
  const release = await acquireApplyLock(m.stateDir, m.file);
  try {
    return await f();
  } finally {
    await release();
  }
}

// `rtsync apply`: each change printed as it is made, then `N changed, N unchanged, N failed`.
export async function apply(file: string, opts: ReconcileOptions, io: Output): Promise<number> {
  const m = await loadResolved(file, opts, io);
  const host = systemHost();
  const { code, started } = await withLock(m, async () => {
    const { plan, desired } = await prepare(m, host, process.env);
    if (!opts.json) io.out(`rtsync apply: ${plan.manifest} on node ${plan.node}`);
    const results = await applyPlan(plan, desired, { host, onResult: (r) => !opts.json && renderResult(r, io).forEach((l) => io.out(l)) });
    // Converged means a fresh look finds nothing left to do (beyond what failed).
    const after = await prepare(m, host, process.env);
    const notDone = new Set(results.filter((r) => r.status !== "changed").map((r) => r.change.id));
    const leftover: ApplyResult[] = after.plan.changes
      .filter((c) => !notDone.has(c.id))
      .map((change) => ({ change, status: "failed", message: "still differs after apply" }));
    for (const r of leftover) if (!opts.json) renderResult(r, io).forEach((l) => io.out(l));
    const all = [...results, ...leftover];
    const summary = summarise(all, plan.unchanged.length);
    if (opts.json) {
      json(io, {
        manifest: plan.manifest,
        node: plan.node,
        results: all.map((r) => ({ ...changeJson(r.change), status: r.status, ...(r.message ? { message: r.message } : {}) })),
        summary,
      });
    } else {
      io.out(renderSummary(summary));
    }
    return { code: summary.failed > 0 ? 1 : 0, started: startedWatchers(all, desired.watchers) };
  });
  // On a terminal, show the initial sync of the watchers just started (after the lock is released).
  if (io.interactive && !opts.json && started.length > 0) {
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
  return code;
}

// Watchers this apply started (create or restart) and that do an initial sync.
function startedWatchers(results: readonly ApplyResult[], watchers: Desired["watchers"]): FollowedWatcher[] {
  return results.flatMap((r) => {
    if (r.change.kind !== "watcher" || r.status !== "changed" || r.change.op === "delete" || typeof r.pid !== "number") return [];
    const w = watchers.find((x) => x.id === r.change.id);
    return w && w.spec.initialSync ? [{ name: w.name, pid: r.pid, stateDir: w.spec.stateDir }] : [];
  });
}

export async function status(file: string, opts: ReconcileOptions, io: Output): Promise<number> {
  const { statusCommand } = await import("./status.ts");
  return statusCommand(file, opts, io);
}

// `rtsync down`: stop this node's daemons and watchers that the manifest declares and rtsync started.
export async function down(file: string, opts: ReconcileOptions, io: Output): Promise<number> {
  const m = await loadResolved(file, opts, io);
  const { stopDeclared } = await import("../../reconcile/down.ts");
  return withLock(m, async () => {
    const results = await stopDeclared(m, systemHost());
    for (const r of results) io.out(r.ok ? `- ${r.kind} ${r.name}: ${r.message}` : `! ${r.kind} ${r.name}: failed: ${r.message}`);
    if (results.length === 0) io.out(`nothing to stop for node ${m.node}`);
    return results.some((r) => !r.ok) ? 1 : 0;
  });
}
