import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import type { ApplyResult, ApplySummary, Plan } from "../resources/plan-types.ts";
import { applyPlan } from "./apply.ts";
import { buildDesired, type Desired } from "./desired.ts";
import { gatherActual } from "./gather.ts";
import { readBuildInputs } from "./inputs.ts";
import { planChanges } from "./plan.ts";

// read -> plan, and read -> plan -> apply -> read -> plan: what diff, apply and the agent share.

export interface PlannedNode {
  readonly desired: Desired;
  readonly plan: Plan;
}

/** Reads the machine and plans; changes nothing. */
export async function gatherPlan(m: ResolvedManifest, host: Host, env: Readonly<Record<string, string | undefined>>): Promise<PlannedNode> {
  const desired = buildDesired(m, await readBuildInputs(m, host, env));
  const actual = await gatherActual(desired, host);
  return { desired, plan: planChanges(desired, actual) };
}

/**
 * What is still not converged after applying: every change a fresh plan still finds, except the
 * ones that already failed or were skipped (they are reported once, as they went). Pure.
 */
export function planLeftovers(results: readonly ApplyResult[], after: Plan): ApplyResult[] {
  const reported = new Set(results.filter((r) => r.status !== "changed").map((r) => r.change.id));
  return after.changes.filter((c) => !reported.has(c.id)).map((change) => ({ change, status: "failed", message: "still differs after apply" }));
}

export function summarise(results: readonly ApplyResult[], unchanged: number): ApplySummary {
  return {
    changed: results.filter((r) => r.status === "changed").length,
    unchanged,
    failed: results.filter((r) => r.status !== "changed").length,
  };
}

/** The plan without the changes held back (nothing depends on a daemon or watcher change). Pure. */
export function withoutHeld(plan: Plan, hold: ReadonlySet<string>): Plan {
  return hold.size === 0 ? plan : { ...plan, changes: plan.changes.filter((c) => !hold.has(c.id)) };
}

export interface Converged {
  readonly plan: Plan;
  readonly desired: Desired;
  /** The plan's results, then what a fresh look still found different. */
  readonly results: readonly ApplyResult[];
  readonly summary: ApplySummary;
}

export interface ConvergeOptions {
  readonly selfCommand: readonly string[];
  /** Ids of changes to leave out this time (the agent holds back a process that keeps dying). */
  readonly hold?: ReadonlySet<string>;
  /** Each result as it happens (leftovers after the others). */
  readonly onStart?: (plan: Plan) => void;
  readonly onResult?: (r: ApplyResult) => void;
}

/** Converges the node (under the apply lock, which the caller holds) and checks that it did. */
export async function convergeNode(m: ResolvedManifest, host: Host, env: Readonly<Record<string, string | undefined>>, options: ConvergeOptions): Promise<Converged> {
  const hold = options.hold ?? new Set<string>();
  const { plan: full, desired } = await gatherPlan(m, host, env);
  const plan = withoutHeld(full, hold);
  options.onStart?.(plan);
  const results = await applyPlan(plan, desired, { host, env, selfCommand: options.selfCommand, ...(options.onResult ? { onResult: options.onResult } : {}) });
  // Converged means a fresh look finds nothing left to do (beyond what failed). A plan with
  // nothing to do was that fresh look (the agent's idle reconcile every interval: half its cost).
  const leftovers = plan.changes.length === 0 ? [] : planLeftovers(results, withoutHeld((await gatherPlan(m, host, env)).plan, hold));
  for (const r of leftovers) options.onResult?.(r);
  const all = [...results, ...leftovers];
  return { plan, desired, results: all, summary: summarise(all, plan.unchanged.length) };
}
