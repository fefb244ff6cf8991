import { CONNECT_TIMEOUT_ARG, IO_TIMEOUT_ARG } from "../../core/rsync-timeouts.ts";
import type { LaneSpec } from "../../state/watch-spec.ts";
import { buildRshArg } from "../../core/ssh-command.ts";

// Pure argument lists for the three kinds of rsync run. Secrets never appear here: a daemon
// password reaches rsync through --password-file (or RSYNC_PASSWORD in the child's environment).

type ArgsSpec = Pick<LaneSpec, "source" | "target" | "daemonTarget" | "passwordFile" | "exclude" | "rsyncArgs" | "maxDelete" | "ssh">;

// User arguments that would turn an incremental run into a mass delete: everything unlisted is
// excluded there, and --delete-excluded would delete it all on the target.
const UNSAFE_INCREMENTAL = new Set(["--delete-excluded"]);

/** One line per changed path, `%i %n` ("<f.st...... a.txt", "*deleting   old/"). */
export const ITEMIZE_ARG = "--out-format=%i %n";

function dirArg(path: string): string {
  return path.endsWith("/") ? path : `${path}/`;
}

// Flags for talking to the target (the time limits: core/rsync-timeouts.ts); TCP_NODELAY saves
// ~40 ms of Nagle + delayed ACK per round trip.
// An ssh target: rsync runs rtsync's ssh (ssh-command.ts), over the lane's master connection.
function transportArgs(spec: ArgsSpec): string[] {
  if (spec.ssh !== undefined) return [IO_TIMEOUT_ARG, buildRshArg(spec.ssh)];
  if (!spec.daemonTarget) return [IO_TIMEOUT_ARG];
  const out = [IO_TIMEOUT_ARG, "--sockopts=TCP_NODELAY", CONNECT_TIMEOUT_ARG];
  if (spec.passwordFile !== undefined) out.push(`--password-file=${spec.passwordFile}`);
  return out;
}

function excludeArgs(spec: ArgsSpec): string[] {
  return spec.exclude.map((p) => `--exclude=${p}`);
}

/**
 * An incremental run: rsync reads the changed paths on stdin (see filter-list.ts). User excludes
 * come before the list, so an excluded file is never sent even when it is listed.
 *
 * --ignore-times: every listed file is known to have changed, but rsync's quick check compares
 * size and mtime in whole seconds, so a same-size rewrite within the second of the previous run
 * would be skipped (seen in tests). Unchanged data still costs only checksums (delta transfer).
 */
export function buildIncrementalArgs(spec: ArgsSpec): string[] {
  return [
    "-a",
    "--ignore-times",
    "--delete",
    "--ignore-errors",
    "--force",
    "--from0",
    ...transportArgs(spec),
    "--info=stats1",
    ...spec.rsyncArgs.filter((a) => !UNSAFE_INCREMENTAL.has(a)),
    ...excludeArgs(spec),
    "--include-from=-",
    "--exclude=*",
    dirArg(spec.source),
    dirArg(spec.target),
  ];
}

/**
 * A full sync of the whole tree. --delete-delay finds deletions during the transfer and applies
 * them at the end (much faster than --delete on big trees). No --ignore-errors: an I/O error on
 * the source must stop deletions on the target. --info=stats2 reports the files transferred and
 * deleted; `maxDelete` caps the deletions (rsync exits 25 past it). Incremental runs get no
 * --max-delete: they delete only the paths that were deleted. `itemize` adds one stdout line per
 * path it creates, updates or deletes (rsync/itemized.ts): what the events did not report is
 * counted as repaired.
 */
export function buildFullArgs(spec: ArgsSpec, options: { readonly progress?: boolean; readonly itemize?: boolean } = {}): string[] {
  return [
    "-a",
    "--delete-delay",
    ...(spec.maxDelete === undefined ? [] : [`--max-delete=${spec.maxDelete}`]),
    ...transportArgs(spec),
    options.progress === true ? "--info=stats2,progress2" : "--info=stats2",
    ...(options.itemize === true ? [ITEMIZE_ARG] : []),
    ...spec.rsyncArgs,
    ...excludeArgs(spec),
    dirArg(spec.source),
    dirArg(spec.target),
  ];
}

/**
 * The first step of a directory rename (`from` -> `to`, both relative): sync the new directory
 * alone, letting rsync hard-link (or copy, for --inplace users) each unchanged file from the old
 * copy still on the target, so a renamed tree costs checksums, not its bytes. The incremental run
 * that follows deletes the old directory. `--link-dest` is relative to the destination directory.
 */
export function buildRenameArgs(spec: ArgsSpec, from: string, to: string): string[] {
  const mode = spec.rsyncArgs.some((a) => a === "--inplace" || a.startsWith("--append")) ? "--copy-dest" : "--link-dest";
  const up = "../".repeat(to.split("/").length);
  return [
    "-a",
    "--delete",
    ...transportArgs(spec),
    "--info=stats1",
    ...spec.rsyncArgs.filter((a) => !UNSAFE_INCREMENTAL.has(a)),
    ...excludeArgs(spec),
    `${mode}=${up}${from}`,
    `${dirArg(spec.source)}${to}/`,
    `${dirArg(spec.target)}${to}/`,
  ];
}

/**
 * Lists the target's top level with the job's excludes: what a full sync from an empty source
 * would delete (the deletion guard asks before it lets one run).
 */
export function buildTargetListArgs(spec: ArgsSpec): string[] {
  return ["--list-only", ...transportArgs(spec), ...excludeArgs(spec), dirArg(spec.target)];
}
