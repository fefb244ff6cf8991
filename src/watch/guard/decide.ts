import type { HaltReason } from "../../state/watcher-status.ts";

// The deletion guard: whether a full sync, which runs rsync with --delete over the whole tree, may
// run now. Pure: the observations come in (source-root.ts reads them, check.ts asks the target).
// A full sync would mirror whatever the source root is now, so it must not run when the root is
// not the tree the job replicates:
//
// 1. the root is missing or not a directory                       -> halt (source-missing)
// 2. it was a mount point when the watcher started and is not now -> halt (source-unmounted)
// 3. its device differs from the one it had then                  -> halt (source-device-changed)
// 4. it holds nothing (lost+found and excluded names aside)       -> ask the target: if its top
//    level holds anything a full sync would delete                 -> halt (source-emptied)
// 5. otherwise                                                    -> run
//
// Rule 4 asks the target rather than remembering the source: "the last sync left it non-empty"
// is exactly "the target holds files", it survives a restart of the watcher (at boot, before the
// source is mounted, a watcher has no memory of its own), and a source that is empty on purpose
// with an empty target (a drained spool) is not stopped.

/** The source root as the watcher found it when it started (or first saw it). */
export interface SourceBaseline {
  readonly dev: number;
  readonly mountPoint: boolean;
}

export type RootObservation =
  | { readonly exists: false; readonly why: string }
  | {
      readonly exists: true;
      readonly directory: boolean;
      readonly dev: number;
      /** Its device differs from its parent's, or /proc/self/mountinfo lists it (bind mounts). */
      readonly mountPoint: boolean;
      /** No entries but lost+found and excluded names (undefined: could not be read). */
      readonly empty: boolean | undefined;
    };

export type GuardStep =
  | { readonly verdict: "run" }
  /** The source is empty: run only if the target holds nothing a full sync would delete. */
  | { readonly verdict: "ask-target" }
  | { readonly verdict: "halt"; readonly reason: HaltReason; readonly detail: string };

/**
 * Which lanes a halt stops. What the source root is (missing, unmounted, on another device) is
 * the watch's: every target's full sync would mirror the wrong tree, so every lane halts. An
 * emptied source halts only the lanes whose target holds something (rule 4 asks each target), and
 * maxDelete is each target's own limit.
 */
export function haltScope(reason: HaltReason): "watch" | "target" {
  switch (reason) {
    case "source-missing":
    case "source-unmounted":
    case "source-device-changed":
    case "source-changed":
      return "watch";
    case "source-emptied":
    case "max-delete":
      return "target";
  }
}

/** A device number as `major:minor`, as /proc/self/mountinfo and `stat` print it. */
export function formatDevice(dev: number): string {
  const major = Math.floor(dev / 256) % 4096;
  const minor = (dev % 256) + Math.floor(dev / 1_048_576) * 256;
  return `${major}:${minor}`;
}

/** The baseline to keep from an observation (none while the root is missing). */
export function baselineOf(root: RootObservation): SourceBaseline | undefined {
  return root.exists && root.directory ? { dev: root.dev, mountPoint: root.mountPoint } : undefined;
}

/** Rules 1-4 for the root as observed now, against the baseline. */
export function planSourceGuard(root: RootObservation, baseline: SourceBaseline | undefined): GuardStep {
  if (!root.exists) return { verdict: "halt", reason: "source-missing", detail: `it is missing (${root.why})` };
  if (!root.directory) return { verdict: "halt", reason: "source-missing", detail: "it is not a directory any more" };
  if (baseline !== undefined && baseline.mountPoint && !root.mountPoint) {
    const devices = `device ${formatDevice(baseline.dev)}, now ${formatDevice(root.dev)}`;
    return { verdict: "halt", reason: "source-unmounted", detail: `it was a mount point when the watcher started and is not one now (${devices})` };
  }
  if (baseline !== undefined && baseline.dev !== root.dev) {
    const devices = `device ${formatDevice(baseline.dev)}, now ${formatDevice(root.dev)}`;
    return { verdict: "halt", reason: "source-device-changed", detail: `it is on another filesystem than when the watcher started (${devices})` };
  }
  if (root.empty === true) return { verdict: "ask-target" };
  return { verdict: "run" };
}

/** Rule 4, once the target's top level was listed (with the job's excludes). */
export function planEmptySourceGuard(targetHasEntries: boolean): GuardStep {
  if (!targetHasEntries) return { verdict: "run" };
  return { verdict: "halt", reason: "source-emptied", detail: "it is empty and the target is not" };
}

/** What status and the log say when the guard stops a full sync. */
export function guardHaltMessage(source: string, detail: string): string {
  return `source looks unmounted or emptied: ${source}: ${detail}; nothing deleted on the target; fix the source, then \`rtsync apply\` or restart the watcher`;
}

/** What status and the log say when --max-delete stopped a full sync's deletions. */
export function maxDeleteHaltMessage(maxDelete: number | undefined, deleted: number | undefined, skipped: number | undefined): string {
  const limit = maxDelete === undefined ? "the --max-delete limit" : `maxDelete (${maxDelete})`;
  const what = `${deleted === undefined ? "" : `rsync deleted ${deleted}`}${deleted !== undefined && skipped !== undefined ? " and " : ""}${skipped === undefined ? "" : `skipped ${skipped} more`}`;
  return (
    `a full sync would delete more files on the target than ${limit} allows${what === "" ? "" : `: ${what}`}; ` +
    "halted so that no further full sync deletes more; check the source (`rtsync verify` lists what differs), " +
    "then fix it, or raise maxDelete if the deletions are wanted, and run `rtsync apply`"
  );
}
