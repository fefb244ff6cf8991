import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import type { DaemonStatus, NodeStatus, WatcherStatus } from "../resources/node-status.ts";
import { isOurProcess } from "../resources/process/identity.ts";
import { readInventory } from "../state/inventory.ts";
import { readWatcherStatus, type WatcherStatusDoc } from "../state/watcher-status.ts";

// What `rtsync status` reports: this node's daemons and watchers, from the inventory, the
// processes themselves, and each watcher's status document. Only observes.

// A watcher is unhealthy when it is not running or its own report says so (its last run failed,
// or its event source is down), with the watcher's last error as the reason. Pure.
export function watcherProblem(running: boolean, report: WatcherStatusDoc | undefined): string | undefined {
  if (!running) return "not running (run `rtsync apply`)";
  if (!report || report.healthy || report.state === "starting") return undefined;
  return report.lastError?.message ?? `state ${report.state}`;
}

export async function gatherStatus(m: ResolvedManifest, host: Host): Promise<NodeStatus> {
  const inventory = await readInventory(m.stateDir);
  const daemons = await Promise.all(
    m.daemons.map(async (d): Promise<DaemonStatus> => {
      const r = inventory.daemons[d.name];
      const running = r !== undefined && r.manifest === m.file && (await isOurProcess(host, r.pid, r.match));
      return {
        name: d.name,
        running,
        ...(r ? { pid: r.pid } : {}),
        address: d.address,
        port: d.port,
        healthy: running,
        ...(running ? {} : { problem: r ? `not running (pid ${r.pid} is gone; run \`rtsync apply\`)` : "never started (run `rtsync apply`)" }),
      };
    }),
  );
  const watchers = await Promise.all(
    m.watches.map(async (w): Promise<WatcherStatus> => {
      const r = inventory.watchers[w.name];
      const running = r !== undefined && r.manifest === m.file && (await isOurProcess(host, r.pid, r.match));
      const report = await readWatcherStatus(w.dir);
      const problem = r ? watcherProblem(running, report) : "never started (run `rtsync apply`)";
      return {
        name: w.name,
        running,
        ...(r ? { pid: r.pid } : {}),
        source: w.source,
        target: w.targetUrl,
        healthy: problem === undefined,
        ...(problem ? { problem } : {}),
        ...(report ? { report } : {}),
      };
    }),
  );
  return {
    manifest: m.file,
    node: m.node,
    daemons,
    watchers,
    healthy: daemons.every((d) => d.healthy) && watchers.every((w) => w.healthy),
  };
}
