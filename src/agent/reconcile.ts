import { convergeNode, gatherPlan, withoutHeld } from "../reconcile/converge.ts";
import { withApplyLock } from "../reconcile/lock.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import type { ApplyResult } from "../resources/plan-types.ts";

// One reconcile of the agent: the same read -> plan -> apply -> read -> plan as `rtsync apply`,
// under the same lock, leaving out the processes held back. At rest (nothing to do) it only
// reads: the lock is taken only when the plan has changes.

export interface ReconcileOutcome {
  /** Changes the plan found before applying (the drift this reconcile repaired or tried to). */
  readonly drifted: number;
  readonly results: readonly ApplyResult[];
  readonly changed: number;
  /** Daemons and watchers started (or restarted). */
  readonly started: readonly string[];
  /** Daemons and watchers whose start failed (blocked ones are not among them). */
  readonly failedStarts: readonly string[];
  /** Other changes that failed, were blocked or skipped (retried with backoff). */
  readonly failed: number;
  /** Resources that still differ from the manifest: failed, blocked, skipped or held back. */
  readonly outOfSync: readonly string[];
  readonly durationMs: number;
}

export interface ReconcileRequest {
  readonly resolved: ResolvedManifest;
  readonly hold: ReadonlySet<string>;
  readonly host: Host;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly selfCommand: readonly string[];
  readonly onResult?: (r: ApplyResult) => void;
}

const isProcess = (r: ApplyResult) => (r.change.kind === "daemon" || r.change.kind === "watcher") && r.change.op !== "delete";

/** Classifies apply results for the agent's decisions. Pure. */
export function buildOutcome(drifted: number, results: readonly ApplyResult[], held: readonly string[], durationMs: number): ReconcileOutcome {
  const started = results.filter((r) => isProcess(r) && r.status === "changed").map((r) => r.change.id);
  const failedStarts = results.filter((r) => isProcess(r) && r.status === "failed" && !r.change.blocked && r.message !== "still differs after apply").map((r) => r.change.id);
  const notDone = results.filter((r) => r.status !== "changed");
  return {
    drifted,
    results,
    changed: results.length - notDone.length,
    started,
    failedStarts,
    // A process that failed to start, or died right after it (a leftover), is the restart
    // policy's to retry (after the poll reports it); a blocked one waits for the retry backoff.
    failed: notDone.filter((r) => !(isProcess(r) && r.status === "failed" && !r.change.blocked)).length,
    outOfSync: [...new Set([...notDone.map((r) => r.change.id), ...held])],
    durationMs,
  };
}

/** Converges the node to `resolved` (under the apply lock when there is anything to do). */
export async function runReconcile(req: ReconcileRequest): Promise<ReconcileOutcome> {
  const started = performance.now();
  const first = (await gatherPlan(req.resolved, req.host, req.env)).plan;
  const held = first.changes.filter((c) => req.hold.has(c.id)).map((c) => c.id);
  if (withoutHeld(first, req.hold).changes.length === 0) return buildOutcome(first.changes.length, [], held, performance.now() - started);
  const done = await withApplyLock(req.resolved.stateDir, req.resolved.file, () =>
    convergeNode(req.resolved, req.host, req.env, {
      selfCommand: req.selfCommand,
      hold: req.hold,
      ...(req.onResult ? { onResult: req.onResult } : {}),
    }),
  );
  return buildOutcome(first.changes.length, done.results, held, performance.now() - started);
}
