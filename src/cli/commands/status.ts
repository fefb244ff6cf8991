import { resolve } from "node:path";
import { matchNode } from "../../manifest/node-match.ts";
import { renderStatus } from "../../render/status-text.ts";
import { gatherNodeHealth } from "../../reconcile/node-health.ts";
import { gatherStatus } from "../../reconcile/status.ts";
import { systemHost } from "../../resources/host.ts";
import { printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import { loadStatusSource } from "../status-source.ts";
import type { Output } from "../output.ts";

// `rtsync status`: exit 0 all healthy, 3 something unhealthy, 1 error. It describes what the
// agent applied when the file on disk is invalid or stale (said on the first lines, exit 3), or
// when no manifest is given and there is none here (status-source.ts).
export async function statusCommand(file: string, opts: CommonOptions, io: Output, flags: Readonly<Record<string, unknown>> = {}): Promise<number> {
  const host = systemHost();
  const stateDir = typeof flags["stateDir"] === "string" ? resolve(flags["stateDir"]) : undefined;
  const { loaded, notes } = await loadStatusSource(file, { ...opts, ...(stateDir ? { stateDir } : {}) }, host);
  const { resolved, manifest, warnings } = loaded;
  const status = await gatherStatus(resolved, host);
  const report = await gatherNodeHealth(resolved, status, matchNode(manifest, resolved.node), host, process.env);
  const { health } = report;
  const healthy = status.healthy && health.healthy && notes.length === 0;
  const { warnings: stateWarnings, ...shown } = status;
  const all = warningsJson(warnings, stateWarnings);
  if (opts.json) {
    const json = {
      ...shown,
      healthy,
      ...(notes.length > 0 ? { manifestProblems: notes } : {}),
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
    for (const note of notes) io.out(`manifest: ${note}`);
    for (const line of renderStatus({ ...status, healthy }, host.now(), io.color, report)) io.out(line);
  }
  return healthy ? 0 : 3;
}
