import type { ResolvedTarget, ResolvedWatch } from "../../manifest/resolve.ts";
import type { TargetSpec, WatchSpec } from "../../state/watch-spec.ts";
import type { BuildInputs } from "../types.ts";

// One lane of the watcher per target, with the settings that target replaces for itself.
function buildTargetSpec(t: ResolvedTarget, ssh: string | undefined): TargetSpec {
  return {
    key: t.key,
    target: t.url,
    daemonTarget: t.target.kind === "daemon",
    ...(t.passwordFile === undefined ? {} : { passwordFile: t.passwordFile }),
    rsyncArgs: [...t.rsyncArgs],
    ...(t.fullSyncSchedule === undefined ? { adaptiveFullSync: true } : { fullSyncSchedule: t.fullSyncSchedule }),
    ...(t.maxDelete === undefined ? {} : { maxDelete: t.maxDelete }),
    ...(t.ssh === undefined || t.target.kind !== "ssh"
      ? {}
      : {
          ssh: {
            binary: ssh ?? "/usr/bin/ssh",
            identityFile: t.ssh.identityFile,
            port: t.ssh.port,
            knownHostsFile: t.ssh.knownHostsFile,
            controlPath: t.ssh.controlPath,
            host: t.target.host,
            pinnedAt: t.ssh.pinnedAt,
          },
        }),
  };
}

/** The spec a watcher process runs from (no password in it: only the password files' paths). Pure. */
export function buildWatchSpec(w: ResolvedWatch, tools: BuildInputs["tools"]): WatchSpec {
  return {
    name: w.name,
    source: w.source.length > 1 ? w.source.replace(/\/+$/, "") : w.source,
    targets: w.targets.map((t) => buildTargetSpec(t, tools.ssh)),
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
