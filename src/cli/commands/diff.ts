import { renderPlanJson } from "../../render/plan-json.ts";
import { renderPlan } from "../../render/plan-text.ts";
import { gatherPlan } from "../../reconcile/converge.ts";
import { systemHost } from "../../resources/host.ts";
import { loadForNode, printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// `rtsync diff`: exit 0 in sync, 2 drift, 1 when a change cannot be applied as planned.
export async function diffCommand(file: string, opts: CommonOptions, io: Output): Promise<number> {
  const { resolved, warnings } = await loadForNode(file, opts);
  const { plan } = await gatherPlan(resolved, systemHost(), process.env);
  const code = plan.changes.some((c) => c.blocked) ? 1 : plan.changes.length > 0 ? 2 : 0;
  if (opts.json) io.json(renderPlanJson(plan, warningsJson(warnings, plan.warnings)));
  else {
    printWarnings(warnings, io, plan.warnings);
    for (const line of renderPlan(plan, io)) io.out(line);
  }
  return code;
}
