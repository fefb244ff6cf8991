import { matchNode } from "../../manifest/node-match.ts";
import { renderStatus } from "../../render/status-text.ts";
import { gatherNodeHealth } from "../../reconcile/node-health.ts";
import { gatherStatus } from "../../reconcile/status.ts";
import { systemHost } from "../../resources/host.ts";
import { loadForNode, printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// `rtsync status`: exit 0 all healthy, 3 something unhealthy, 1 error.
export async function statusCommand(file: string, opts: CommonOptions, io: Output): Promise<number> {
  const { resolved, manifest, warnings } = await loadForNode(file, opts);
  const host = systemHost();
  const status = await gatherStatus(resolved, host);
  const report = await gatherNodeHealth(resolved, status, matchNode(manifest, resolved.node), host, process.env);
  const { health } = report;
  const healthy = status.healthy && health.healthy;
  const { warnings: stateWarnings, ...shown } = status;
  const all = warningsJson(warnings, stateWarnings);
  if (opts.json) {
    const json = {
      ...shown,
      healthy,
      sync: health.sync,
      health: health.health,
      problems: health.problems,
      ...(report.revision ? { revision: report.revision } : {}),
      ...(report.agent ? { agent: report.agent } : {}),
      daemons: status.daemons.map((d, i) => ({ ...d, sync: health.daemons[i]?.sync, health: health.daemons[i]?.health })),
      watchers: status.watchers.map((w, i) => ({ ...w, sync: health.watchers[i]?.sync, health: health.watchers[i]?.health })),
      ...(all.length ? { warnings: all } : {}),
    };
    io.json(json);
  } else {
    printWarnings(warnings, io, stateWarnings);
    for (const line of renderStatus({ ...status, healthy }, host.now(), io.color, report)) io.out(line);
  }
  return healthy ? 0 : 3;
}
