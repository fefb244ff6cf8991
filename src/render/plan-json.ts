import { KINDS, type Change, type ChangeOf, type KindName } from "../resources/kinds.ts";
import type { ApplyResult, ApplySummary, Plan } from "../resources/plan-types.ts";
import type { JsonValue } from "../resources/types.ts";
import type { IssueJson } from "./issues-json.ts";

// The --json documents of diff and apply: a stable projection of plans and results (documented
// in docs/commands.md). Never a secret: each kind describes its changes without file contents.

export interface ChangeJson {
  readonly id: string;
  readonly kind: KindName;
  readonly op: Change["op"];
  readonly title: string;
  readonly details: readonly string[];
  readonly blocked?: string;
  /** The kind's own particulars (path and mode of a file, address and port of a daemon, …). */
  readonly resource: { readonly [key: string]: JsonValue };
}

function describe<K extends KindName>(kind: K, change: ChangeOf<K>): { readonly [key: string]: JsonValue } {
  return KINDS[kind].describe(change);
}

export function renderChangeJson(c: Change): ChangeJson {
  return {
    id: c.id,
    kind: c.kind,
    op: c.op,
    title: c.title,
    details: c.details,
    ...(c.blocked ? { blocked: c.blocked } : {}),
    resource: describe(c.kind, c),
  };
}

/** `rtsync diff --json`. */
export function renderPlanJson(plan: Plan, issues: readonly IssueJson[]) {
  return {
    manifest: plan.manifest,
    node: plan.node,
    inSync: plan.changes.length === 0,
    changes: plan.changes.map(renderChangeJson),
    unchanged: plan.unchanged,
    ...(issues.length > 0 ? { warnings: issues } : {}),
  };
}

/** `rtsync apply --json`. */
export function renderApplyJson(plan: Plan, results: readonly ApplyResult[], summary: ApplySummary, issues: readonly IssueJson[]) {
  return {
    manifest: plan.manifest,
    node: plan.node,
    results: results.map((r) => ({ ...renderChangeJson(r.change), status: r.status, ...(r.message ? { message: r.message } : {}), ...(r.pid === undefined ? {} : { pid: r.pid }) })),
    summary,
    ...(issues.length > 0 ? { warnings: issues } : {}),
  };
}

