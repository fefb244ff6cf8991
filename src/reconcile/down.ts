import { messageOf } from "../core/errors.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import { resourceId } from "../resources/ids.ts";
import { isSameProcess, readProcessInfo, stopProcess } from "../resources/process/identity.ts";
import { readJob } from "../resources/process/job.ts";
import { isHostRecord, withdrawJob } from "../resources/watcher/host.ts";
import { readMarkedProcesses } from "../resources/process/markers.ts";
import { readInventoryForRepair, setCorruptInventoryAside, writeInventory, type Inventory } from "../state/inventory.ts";

// `rtsync down`: stops the watchers, then the daemons, that this node's part of the manifest
// declares and that rtsync started for this manifest: the recorded process, and any unrecorded
// one carrying this stateDir's marker for the job (an apply killed mid-start). Nothing of another
// manifest, nothing rtsync did not start. Must run under the apply lock.

export interface DownResult {
  readonly kind: "watcher" | "daemon";
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
}

function markStopped(inventory: Inventory, kind: "watcher" | "daemon", name: string, at: string): void {
  if (kind === "watcher") {
    const r = inventory.watchers[name];
    if (r !== undefined) inventory.watchers[name] = { ...r, stoppedAt: at };
  } else {
    const r = inventory.daemons[name];
    if (r !== undefined) inventory.daemons[name] = { ...r, stoppedAt: at };
  }
}

export async function stopDeclared(m: ResolvedManifest, host: Host): Promise<DownResult[]> {
  const [{ inventory, warning }, marked] = await Promise.all([readInventoryForRepair(m.stateDir), readMarkedProcesses(host, m.stateDir)]);
  if (warning !== undefined) await setCorruptInventoryAside(m.stateDir);
  const results: DownResult[] = [];
  const jobs = [...m.watches.map((w) => ["watcher", w.name] as const), ...m.daemons.map((d) => ["daemon", d.name] as const)];
  for (const [kind, name] of jobs) {
    const records = kind === "watcher" ? inventory.watchers : inventory.daemons;
    const record = records[name];
    if (record !== undefined && (record.owner ?? "") !== m.owner) continue;
    const view = await readJob(host, resourceId[kind](name), record, marked);
    const targets = [...(view.running && record ? [record] : []), ...view.unrecorded.filter((p) => p.marker.owner === m.owner).map((p) => ({ pid: p.info.pid, uid: p.info.uid, startTime: p.info.startTime, match: [...p.info.argv] }))];
    if ((record === undefined || record.stoppedAt !== undefined) && targets.length === 0) continue;
    try {
      const stopped: number[] = [];
      for (const t of targets) {
        if (!isSameProcess(await readProcessInfo(host, t.pid), t)) continue;
        // A job of the watch host is withdrawn from it (the host runs other jobs; it exits with the last).
        if (kind === "watcher" && isHostRecord(t)) await withdrawJob(m.stateDir, t.pid, name);
        else await stopProcess(t.pid, kind === "watcher" ? 15_000 : 8_000);
        stopped.push(t.pid);
      }
      // Kept, marked stopped: status then says "stopped by rtsync down", not "never started".
      markStopped(inventory, kind, name, host.now().toISOString());
      await writeInventory(m.stateDir, inventory);
      const message = stopped.length > 0 ? `stopped pid ${stopped.join(", ")}` : `was not running${record && record.pid > 0 ? ` (pid ${record.pid})` : ""}`;
      results.push({ kind, name, ok: true, message });
    } catch (e) {
      results.push({ kind, name, ok: false, message: messageOf(e) });
    }
  }
  return results;
}
