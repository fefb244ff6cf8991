import type { ResolvedTarget, ResolvedWatch } from "../../manifest/resolve.ts";
import type { TargetSpec, WatchSpec } from "../../state/watch-spec.ts";
import type { BuildInputs } from "../types.ts";

// One lane of the watcher per target, with the settings that target replaces for itself.
function buildTargetSpec(t: ResolvedTarget): TargetSpec {
  return {
    key: t.key,
    target: t.url,
    daemonTarget: t.target.kind === "daemon",
    ...(t.passwordFile === undefined ? {} : { passwordFile: t.passwordFile }),
    rsyncArgs: [...t.rsyncArgs],
    ...(t.fullSyncSchedule === undefined ? { adaptiveFullSync: true } : { fullSyncSchedule: t.fullSyncSchedule }),
    ...(t.maxDelete === undefined ? {} : { maxDelete: t.maxDelete }),
  };
}

/** The spec a watcher process runs from (no password in it: only the password files' paths). Pure. */
export function buildWatchSpec(w: ResolvedWatch, tools: BuildInputs["tools"]): WatchSpec {
  return {
    name: w.name,
    source: w.source.length > 1 ? w.source.replace(/\/+$/, "") : w.source,
    targets: w.targets.map(buildTargetSpec),
    exclude: w.exclude,
    delayMs: w.delayMs,
    settleMs: w.settleMs,
    watcher: w.watcher,
    initialSync: w.initialSync,
    stateDir: w.dir,
    rsync: tools.rsync,
    ...(tools.inotifywait === undefined ? {} : { inotifywait: tools.inotifywait }),
    ...(tools.setpriv === undefined ? {} : { setpriv: tools.setpriv }),
  };
}
