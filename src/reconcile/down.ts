import { messageOf } from "../core/errors.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import { isOurProcess, stopProcess } from "../resources/process/identity.ts";
import { readInventory, writeInventory } from "../state/inventory.ts";

// `rtsync down`: stops the watchers, then the daemons, that this node's part of the manifest
// declares and that rtsync's inventory says this manifest started. Nothing else is touched.
// Must run under the apply lock.

export interface DownResult {
  readonly kind: "watcher" | "daemon";
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
}

export async function stopDeclared(m: ResolvedManifest, host: Host): Promise<DownResult[]> {
  const inventory = await readInventory(m.stateDir);
  const results: DownResult[] = [];
  const targets = [...m.watches.map((w) => ["watcher", w.name] as const), ...m.daemons.map((d) => ["daemon", d.name] as const)];
  for (const [kind, name] of targets) {
    const records = kind === "watcher" ? inventory.watchers : inventory.daemons;
    const record = records[name];
    if (!record || record.manifest !== m.file) continue;
    try {
      const ours = await isOurProcess(host, record.pid, record.match);
      const how = ours ? await stopProcess(record.pid, kind === "watcher" ? 15_000 : 8_000) : "gone";
      delete records[name];
      await writeInventory(m.stateDir, inventory);
      results.push({ kind, name, ok: true, message: how === "gone" ? `was not running (pid ${record.pid})` : `stopped pid ${record.pid}` });
    } catch (e) {
      results.push({ kind, name, ok: false, message: messageOf(e) });
    }
  }
  return results;
}
