import type { ResolvedWatch } from "../../manifest/resolve.ts";
import { watchFiles } from "../../state/layout.ts";
import type { WatchSpec } from "../../state/watch-spec.ts";
import type { BuildInputs } from "../types.ts";

/** The spec a watcher process runs from (no password in it: only the password file's path). Pure. */
export function buildWatchSpec(w: ResolvedWatch, tools: BuildInputs["tools"]): WatchSpec {
  const user = w.target.kind === "daemon" ? w.target.user : undefined;
  return {
    name: w.name,
    source: w.source.length > 1 ? w.source.replace(/\/+$/, "") : w.source,
    target: w.targetUrl,
    daemonTarget: w.target.kind === "daemon",
    ...(user ? { passwordFile: watchFiles.password(w.dir) } : {}),
    exclude: w.exclude,
    delayMs: w.delayMs,
    watcher: w.watcher,
    rsyncArgs: w.rsyncArgs,
    initialSync: w.initialSync,
    fullSyncSchedule: w.fullSyncSchedule,
    ...(w.maxDelete === undefined ? {} : { maxDelete: w.maxDelete }),
    stateDir: w.dir,
    rsync: tools.rsync,
    ...(tools.inotifywait === undefined ? {} : { inotifywait: tools.inotifywait }),
    ...(tools.setpriv === undefined ? {} : { setpriv: tools.setpriv }),
  };
}
