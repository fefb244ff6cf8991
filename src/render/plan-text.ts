import pc from "picocolors";
import type { Change } from "../resources/kinds.ts";
import type { ApplyResult, ApplySummary, Plan } from "../resources/plan-types.ts";
import type { ChangeOp } from "../resources/types.ts";

// Plans and apply results as text for a terminal. Pure: data in, lines out. Never a secret: the
// plan holds none (secret files show user names only).

export interface Style {
  readonly color: boolean;
}

const SYMBOL: Record<ChangeOp, string> = { create: "+", update: "~", delete: "-" };

function paint(style: Style, op: ChangeOp | "fail", text: string): string {
  if (!style.color) return text;
  switch (op) {
    case "create":
      return pc.green(text);
    case "update":
      return pc.yellow(text);
    case "delete":
      return pc.red(text);
    case "fail":
      return pc.red(pc.bold(text));
  }
}

function detailLine(style: Style, line: string): string {
  const text = `    ${line}`;
  if (!style.color) return text;
  if (line.startsWith("+") && !line.startsWith("+++")) return pc.green(text);
  if (line.startsWith("-") && !line.startsWith("---")) return pc.red(text);
  if (line.startsWith("@@")) return pc.cyan(text);
  return pc.dim(text);
}

export function renderChange(c: Change, style: Style): string[] {
  return [
    paint(style, c.op, `${SYMBOL[c.op]} ${c.title}`),
    ...c.details.map((l) => detailLine(style, l)),
    ...(c.blocked ? [paint(style, "fail", `    ! cannot be applied: ${c.blocked}`)] : []),
  ];
}

export function renderPlan(plan: Plan, style: Style): string[] {
  const count = (op: ChangeOp) => plan.changes.filter((c) => c.op === op).length;
  const blocked = plan.changes.filter((c) => c.blocked).length;
  const head = `rtsync diff: ${plan.manifest} on node ${plan.node}`;
  if (plan.changes.length === 0) return [head, `In sync: ${plan.unchanged.length} resources unchanged.`];
  return [
    head,
    ...plan.changes.flatMap((c) => renderChange(c, style)),
    `Plan: ${count("create")} to create, ${count("update")} to change, ${count("delete")} to remove; ${plan.unchanged.length} unchanged${blocked ? `; ${blocked} cannot be applied` : ""}.`,
  ];
}

export function renderResult(r: ApplyResult, style: Style): string[] {
  const c = r.change;
  switch (r.status) {
    case "changed":
      return [paint(style, c.op, `${SYMBOL[c.op]} ${c.title}: done`)];
    case "failed":
      return [paint(style, "fail", `! ${c.title}: failed: ${r.message ?? "unknown error"}`)];
    case "skipped":
      return [paint(style, "fail", `! ${c.title}: ${r.message ?? "skipped"}`)];
  }
}

export function renderSummary(s: ApplySummary): string {
  return `${s.changed} changed, ${s.unchanged} unchanged, ${s.failed} failed`;
}
