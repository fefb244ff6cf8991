import { gatherStatus } from "../../reconcile/status.ts";
import { renderStatus } from "../../render/status-text.ts";
import { systemHost } from "../../resources/host.ts";
import { loadResolved } from "../manifest-arg.ts";
import type { Output } from "../output.ts";
import type { ReconcileOptions } from "./reconcile.ts";

// `rtsync status`: exit 0 all healthy, 3 something unhealthy, 1 error.
export async function statusCommand(file: string, opts: ReconcileOptions, io: Output): Promise<number> {
  const m = await loadResolved(file, opts, io);
  const host = systemHost();
  const status = await gatherStatus(m, host);
  if (opts.json) io.out(JSON.stringify(status, null, 2));
  else for (const line of renderStatus(status, host.now(), io.color)) io.out(line);
  return status.healthy ? 0 : 3;
}
