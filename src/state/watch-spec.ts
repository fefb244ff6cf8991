import * as z from "zod/mini";
import { hashText } from "../core/hash.ts";
import { describeErrno, StateError } from "../core/errors.ts";
import { parseDocument, readDocument, type DocumentKind } from "./document.ts";

// What one watcher process needs to know: derived from a manifest watch by the reconciler, written
// as spec.json, read by the detached watcher (`rtsync __watch SPEC.json`). It never contains a
// password: daemon targets with a user authenticate through `passwordFile` (a 0600 file holding
// only the password). Each target is a lane of the watcher (watch/engine/lane.ts). The spec's
// hash (in the inventory and in status.json) says which spec a running watcher runs: a different
// one means restart, so changing one target of a watch restarts the watcher (every lane's initial
// full sync then covers what the restart could have missed).

/** The event sources a watcher can run. */
export const SOURCE_KINDS = ["inotify", "inotifywait", "chokidar", "poll"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
/** The manifest's `watcher:` key: a source, or `auto` (the best one this machine has). */
export const WATCHER_KINDS = ["auto", ...SOURCE_KINDS] as const;
export type WatcherKind = (typeof WATCHER_KINDS)[number];

const absolute = z.string().check(z.regex(/^\//, "must be an absolute path"));

/** One target of the watch: the watcher runs one lane for it (own queue, runs, retries, schedule). */
export const TargetSpecSchema = z.strictObject({
  /** Its identity within the watch (no user, port always given): the `target` of its status, log and metrics. */
  key: z.string().check(z.minLength(1)),
  /** The rsync destination as rsync takes it, no trailing slash: `rsync://user@host:port/module/sub` or a local directory. */
  target: z.string().check(z.minLength(1)),
  /** `target` is an rsync daemon (`rsync://`): adds `--sockopts=TCP_NODELAY`. */
  daemonTarget: z.boolean(),
  /** `--password-file` for a daemon target with a user. */
  passwordFile: z.optional(absolute),
  /** Extra rsync arguments from the manifest, appended to every run to this target. */
  rsyncArgs: z.array(z.string()),
  /** Cron expression of this target's scheduled full sync. */
  fullSyncSchedule: z.optional(z.string().check(z.minLength(1))),
  /** No schedule in the manifest: full syncs spaced by their CPU cost, 5 to 15 minutes apart (watch/engine/adaptive-schedule.ts). */
  adaptiveFullSync: z.optional(z.boolean()),
  /** Full syncs delete at most this many files on the target (rsync --max-delete); its lane halts past it. */
  maxDelete: z.optional(z.int().check(z.positive())),
  /** An ssh:// target (`target` is then `user@host:/path`): how rsync's ssh logs in (watch/rsync/ssh-command.ts). */
  ssh: z.optional(
    z.strictObject({
      /** The ssh client, an absolute path. */
      binary: absolute,
      identityFile: absolute,
      port: z.int().check(z.positive()),
      knownHostsFile: absolute,
      /** The socket of the lane's one master connection. */
      controlPath: absolute,
      /** The host as the URL names it, for the reachability probe and messages. */
      host: z.string().check(z.minLength(1)),
      /** Where the manifest pins the host key, for the message of a mismatch. */
      pinnedAt: z.string(),
    }),
  ),
});

export type TargetSpec = z.infer<typeof TargetSpecSchema>;

export const WatchSpecSchema = z.strictObject({
  /** The watch's name in the manifest. */
  name: z.string().check(z.minLength(1)),
  /** Absolute path of the watched tree, without a trailing slash. */
  source: absolute,
  /** One or more; a manifest's `target:` is a list of one. Keys are distinct. */
  targets: z.array(TargetSpecSchema).check(z.minLength(1)),
  /** rsync filter patterns (exclude rules), applied to events and to every rsync run. */
  exclude: z.array(z.string()),
  /** Extra quiet time to gather a batch, in ms (0 = send at once after a quiet spell). */
  delayMs: z.int().check(z.nonnegative()),
  /** How long a file written but not closed waits before it is sent, again every as long while it changes (absent: 2 s). */
  settleMs: z.optional(z.int().check(z.nonnegative())),
  watcher: z.enum(WATCHER_KINDS),
  /** Run a full sync at start. */
  initialSync: z.boolean(),
  /** Directory owned by this watcher: status.json, log.jsonl. */
  stateDir: absolute,
  /** The rsync binary, resolved to an absolute path when the spec was written. */
  rsync: absolute,
  /** The inotifywait binary, when one was found (the inotifywait source needs it). */
  inotifywait: z.optional(absolute),
  /** util-linux's setpriv, when found: inotifywait and full syncs run under `setpriv --pdeathsig SIGTERM` and die with the watcher. */
  setpriv: z.optional(absolute),
});

export type WatchSpec = z.infer<typeof WatchSpecSchema>;

/** What one lane runs rsync with: the watch's source side and one of its targets. */
export type LaneSpec = Omit<WatchSpec, "targets"> & TargetSpec;

/** One lane spec per target, in the spec's order. Pure. */
export function buildLaneSpecs(spec: WatchSpec): LaneSpec[] {
  const { targets, ...watch } = spec;
  return targets.map((t) => ({ ...watch, ...t }));
}

const SPEC: DocumentKind<WatchSpec> = {
  what: "an rtsync watch spec",
  schema: WatchSpecSchema,
  fix: "run `rtsync apply` to write it again",
};

/** The text of spec.json: what the reconciler writes, byte for byte. Pure. */
export function renderWatchSpec(spec: WatchSpec): string {
  return `${JSON.stringify(spec, null, 2)}\n`;
}

/** The spec's identity: the same spec always hashes the same, on either side. Pure. */
export function hashWatchSpec(spec: WatchSpec): string {
  return hashText(JSON.stringify(spec));
}

/** Parses spec.json's text (the watcher's parse boundary). Pure. */
export function parseWatchSpec(file: string, text: string): WatchSpec {
  return parseDocument(file, text, SPEC);
}

/** Reads and validates spec.json; a missing file is an error here (the watcher cannot run without it). */
export async function readWatchSpec(file: string): Promise<WatchSpec> {
  const spec = await readDocument(file, SPEC).catch((error: unknown) => {
    if (error instanceof StateError && error.problem === "corrupt") throw error;
    throw new StateError(file, "io", `cannot read watcher spec ${file}: ${describeErrno(error instanceof StateError ? error.cause : error)}; run \`rtsync apply\` to write it again`, { cause: error });
  });
  if (spec === undefined) throw new StateError(file, "io", `cannot read watcher spec ${file}: no such file; run \`rtsync apply\` to write it again`);
  return spec;
}
