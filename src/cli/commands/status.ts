import { renderStatus } from "../../render/status-text.ts";
import { gatherStatus } from "../../reconcile/status.ts";
import { systemHost } from "../../resources/host.ts";
import { loadForNode, printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// `rtsync status`: exit 0 all healthy, 3 something unhealthy, 1 error.
export async function statusCommand(file: string, opts: CommonOptions, io: Output): Promise<number> {
  const { resolved, warnings } = await loadForNode(file, opts);
  const host = systemHost();
  const status = await gatherStatus(resolved, host);
  const { warnings: stateWarnings, ...shown } = status;
  const all = warningsJson(warnings, stateWarnings);
  if (opts.json) io.out(JSON.stringify({ ...shown, ...(all.length ? { warnings: all } : {}) }, null, 2));
  else {
    printWarnings(warnings, io, stateWarnings);
    for (const line of renderStatus(status, host.now(), io.color)) io.out(line);
  }
  return status.healthy ? 0 : 3;
}
