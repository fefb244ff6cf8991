import type { ResolvedManifest } from "../manifest/resolve.ts";
import { gatherStatus } from "../reconcile/status.ts";
import type { Host } from "../resources/host.ts";
import { resourceId } from "../resources/ids.ts";
import type { ApplyResult } from "../resources/plan-types.ts";
import { writeFullSyncRequest } from "../state/full-sync-request.ts";

// A module directory the agent had to create again while its daemon was already running: someone
// removed it (`rm -rf`), and the replica it held is gone. The agent says so (a warning and a
// counter), and when this node also runs a watch whose target is that module over loopback, it
// asks that watcher for a full sync at once (full-sync-request.json + SIGUSR2): the lane is Degraded
// until the full sync has filled the module again, instead of Healthy and empty until its schedule.

export interface RecreatedModule {
  readonly daemon: string;
  readonly module: string;
  readonly path: string;
  /** Watches of this node that replicate into it, with the keys of those targets. */
  readonly watches: ReadonlyArray<{ readonly name: string; readonly dir: string; readonly targets: readonly string[] }>;
}

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i;

/**
 * The module directories this reconcile created while their daemon was not started by it (a first
 * apply creates both: nothing was lost then) and its rsyncd.conf did not change (a module just
 * added to the manifest is new, not recreated), and the local watches that target them. Pure.
 */
export function findRecreatedModules(m: ResolvedManifest, results: readonly ApplyResult[]): RecreatedModule[] {
  const created = new Set(results.filter((r) => r.change.kind === "directory" && r.change.op === "create" && r.status === "changed").map((r) => r.change.id));
  // A daemon this reconcile started (or tried to: a failed start is no running daemon either) and a
  // config it wrote or tried to write: the directory is new with them, not recreated.
  const startedDaemons = new Set(results.filter((r) => r.change.kind === "daemon").map((r) => r.change.id));
  const changedFiles = new Set(results.filter((r) => r.change.kind === "file").map((r) => r.change.id));
  const out: RecreatedModule[] = [];
  for (const d of m.daemons) {
    if (startedDaemons.has(resourceId.daemon(d.name)) || changedFiles.has(resourceId.file(d.config))) continue;
    for (const mod of d.modules) {
      if (!created.has(resourceId.directory(mod.path))) continue;
      const watches = m.watches.flatMap((w) => {
        const targets = w.targets.filter(({ target: t }) => t.kind === "daemon" && t.module === mod.name && (t.port ?? 873) === d.port && (LOOPBACK.test(t.host) || t.host === d.address)).map((t) => t.key);
        return targets.length === 0 ? [] : [{ name: w.name, dir: w.dir, targets }];
      });
      out.push({ daemon: d.name, module: mod.name, path: mod.path, watches });
    }
  }
  return out;
}

/** The reason a lane shows (Degraded) until its full sync filled the module. Pure. */
export function recreatedReason(r: Pick<RecreatedModule, "daemon" | "module" | "path">): string {
  return `module ${r.module} of daemon ${r.daemon} was recreated empty at ${r.path}`;
}

/** Asks each running watcher that replicates into a recreated module for a full sync now; returns the watches asked. */
export async function requestRefills(m: ResolvedManifest, host: Host, recreated: readonly RecreatedModule[]): Promise<string[]> {
  const wanted = recreated.flatMap((r) => r.watches.map((w) => ({ ...w, reason: recreatedReason(r) })));
  if (wanted.length === 0) return [];
  const status = await gatherStatus(m, host);
  const asked: string[] = [];
  for (const w of wanted) {
    // Only a watcher this manifest owns and that runs (its pid checked by its marker); one that does
    // not run gets its initial full sync when the agent starts it.
    const pid = status.watchers.find((s) => s.name === w.name && s.running)?.pid;
    if (pid === undefined) continue;
    await writeFullSyncRequest(w.dir, { reason: w.reason, targets: [...w.targets] });
    process.kill(pid, "SIGUSR2");
    asked.push(w.name);
  }
  return asked;
}
