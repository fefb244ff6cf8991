import { stopDeclared } from "../../reconcile/down.ts";
import { withApplyLock } from "../../reconcile/lock.ts";
import { systemHost } from "../../resources/host.ts";
import { loadForNode, printWarnings, warningsJson, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// `rtsync down`: stop this node's daemons and watchers that the manifest declares and rtsync started.
export async function downCommand(file: string, opts: CommonOptions, io: Output): Promise<number> {
  const { resolved, warnings } = await loadForNode(file, opts);
  const results = await withApplyLock(resolved.stateDir, resolved.file, () => stopDeclared(resolved, systemHost()));
  const code = results.some((r) => !r.ok) ? 1 : 0;
  if (opts.json) {
    io.json({ manifest: resolved.file, node: resolved.node, results, ...(warnings.length ? { warnings: warningsJson(warnings) } : {}) });
    return code;
  }
  printWarnings(warnings, io);
  for (const r of results) io.out(r.ok ? `- ${r.kind} ${r.name}: ${r.message}` : `! ${r.kind} ${r.name}: failed: ${r.message}`);
  if (results.length === 0) io.out(`nothing to stop for node ${resolved.node}`);
  return code;
}
