import { RtsyncError } from "../../core/errors.ts";
import type { UnwatchedReason } from "../../state/unwatched.ts";
import type { SourceKind, WatcherKind } from "../../state/watch-spec.ts";
import type { BytePath } from "../byte-path.ts";

// The seam between the kernel's change notifications and the engine: one small interface with an
// inotifywait adapter and a chokidar adapter behind it.

/**
 * What happened to one path under the source.
 * - `create`: a new regular file appeared and is probably still being written; a `change` (its
 *   close) normally follows. Only sources that see closes (inotifywait) emit it.
 * - `create-dir`: a directory appeared, possibly with content already inside.
 * - `change`: a file was written and closed, or appeared complete (symlink, hard link, chokidar add).
 * - `modify`: a file was written and is still open (IN_MODIFY); the engine sends it after the
 *   watch's settle time unless its close comes first (batching/settle.ts). The inotify sources
 *   emit it; chokidar reports every write as a `change`.
 * - `attrib`: mode, owner or times changed.
 * - `delete`, `move-from`, `move-to`: the two ends of a rename are reported separately.
 * - `rescan`: something under this directory changed that the source cannot name exactly (a
 *   name that is not UTF-8 under chokidar); "" means the whole tree.
 * - `overflow`: the kernel's event queue overflowed and events were dropped (path ""): the
 *   engine runs a full sync at once and counts it. The source has re-established its watches.
 */
export type SourceEventType = "create" | "create-dir" | "change" | "modify" | "attrib" | "delete" | "move-from" | "move-to" | "rescan" | "overflow";

export interface SourceEvent {
  readonly type: SourceEventType;
  /** Relative to the source; "" only for a `rescan` of the whole tree and an `overflow`. */
  readonly path: BytePath;
  readonly isDir: boolean;
  /** For a `move-to` whose `move-from` inside the tree was seen: the old path. */
  readonly from?: BytePath;
  /** For a whole-tree `rescan`: why, as the full sync's reason in the log. */
  readonly reason?: string;
}

/** The engine's full-sync reason for an `overflow`. */
export const OVERFLOW_REASON = "events dropped (inotify queue overflow)";

/** The full sync an event asks for (an overflow, a rescan of the whole tree), if any. */
export function fullSyncRequest(e: SourceEvent): { readonly reason: string; readonly overflow: boolean } | undefined {
  if (e.type === "overflow") return { reason: OVERFLOW_REASON, overflow: true };
  if (e.type === "rescan" && e.path === "") return { reason: e.reason ?? "rescan of the whole tree", overflow: false };
  return undefined;
}

/**
 * `events` without the repeats of a `modify`: a path's `modify` after one for the same path with
 * no other event of that path in between says nothing new. The kernel merges identical events
 * only at the tail of its queue, so writers taking turns, or one writing faster than the queue is
 * read, give one per write (a 1 GB file written 4 KiB at a time: up to 262,144). Pure; returns
 * `events` itself when nothing repeats.
 */
export function dropRepeatedModifies(events: readonly SourceEvent[]): readonly SourceEvent[] {
  let modified: Set<string> | undefined;
  let kept: SourceEvent[] | undefined;
  for (const [i, e] of events.entries()) {
    if (e.type !== "modify") {
      modified?.delete(e.path);
      if (e.from !== undefined) modified?.delete(e.from);
      kept?.push(e);
    } else if (modified?.has(e.path) === true) kept ??= events.slice(0, i);
    else {
      (modified ??= new Set()).add(e.path);
      kept?.push(e);
    }
  }
  return kept ?? events;
}

/**
 * After a read that brought only writes (`modify`), a source leaves its queue alone this long: the
 * kernel merges a write into an identical event at the tail of its queue, so a file written 4 KiB
 * at a time costs one event per pause instead of one per write (a 1 GiB dd: about 1 s of the
 * watcher's CPU read at once, under 0.1 s paused). Whatever else arrives meanwhile waits at most
 * as long.
 */
export const MODIFY_PAUSE_MS = 10;

/** Whether a read brought writes and nothing else (see MODIFY_PAUSE_MS). */
export function onlyModifies(events: readonly SourceEvent[]): boolean {
  return events.length > 0 && events.every((e) => e.type === "modify");
}

export type WatchSourceErrorReason =
  | "watch-limit" // fs.inotify.max_user_watches is too low for the tree
  | "instance-limit" // fs.inotify.max_user_instances is exhausted
  | "root-gone" // the source directory was deleted, moved or unmounted
  | "exited" // the watcher process ended
  | "failed"; // any other error the source reported

/** A source stopped delivering events: the engine restarts it and runs a full sync. */
export class WatchSourceError extends RtsyncError {
  static {
    this.prototype.name = "WatchSourceError";
  }
  readonly reason: WatchSourceErrorReason;
  constructor(reason: WatchSourceErrorReason, message: string, options?: ErrorOptions) {
    super("E_WATCH", "system", message, options);
    this.reason = reason;
  }
}

/** A directory the source could not watch (its subtree is not watched either). */
export interface UnwatchedDir {
  /** Relative to the source. */
  readonly path: BytePath;
  readonly reason: UnwatchedReason;
  /** Epoch ms. */
  readonly since: number;
}

export interface SourceHandlers {
  /** Events in the order the source saw them; one call per chunk of output. */
  readonly onEvents: (events: readonly SourceEvent[]) => void;
  /**
   * The directories not watched now, all of them, each time that set changes. The source retries
   * them and sends a `rescan` of each every few seconds meanwhile (only rtsync's inotify source).
   */
  readonly onUnwatched?: (dirs: readonly UnwatchedDir[]) => void;
  /** Called at most once; the subscription delivers nothing afterwards and should be closed. */
  readonly onError: (error: WatchSourceError) => void;
}

export interface Subscription {
  /** Settles when every directory is watched; rejects with a WatchSourceError when setup fails. */
  readonly ready: Promise<{ readonly watches: number }>;
  /** Stops watching; safe to call more than once and after an error. */
  close(): Promise<void>;
  /** The inotify watches it holds now, where the source keeps count (rtsync's inotify source: its watch tree). */
  watches?(): number;
}

export interface EventSource {
  readonly kind: SourceKind;
  /** Why this source runs (set by loadEventSource: "auto: rtsync's inotify addon is built"). */
  readonly why?: string;
  /** Starts watching the tree; events may arrive before `ready` settles only for chokidar. */
  subscribe(handlers: SourceHandlers): Subscription;
}

/** What `auto` (or an explicit choice) resolves to, and why, in one sentence for validate/status. */
export interface WatcherChoice {
  readonly source: SourceKind;
  readonly why: string;
}

export interface WatcherAvailability {
  readonly platform: NodeJS.Platform;
  /** Whether rtsync's inotify addon loaded, and if not, why. */
  readonly addon: { readonly ok: true } | { readonly ok: false; readonly reason: string };
  readonly inotifywaitInstalled: boolean;
}

// `auto` means rtsync's own inotify source on Linux (issue 10), inotifywait where the addon did
// not build, chokidar elsewhere (one watch per file, see issue 4). Pure.
export function planWatcher(kind: WatcherKind, have: WatcherAvailability): WatcherChoice {
  if (kind !== "auto") return { source: kind, why: `watcher: ${kind} in the manifest` };
  if (have.platform !== "linux") return { source: "chokidar", why: `auto: inotify is Linux-only (this is ${have.platform})` };
  if (have.addon.ok) return { source: "inotify", why: "auto: rtsync's inotify addon is built" };
  if (have.inotifywaitInstalled) return { source: "inotifywait", why: `auto: the inotify addon did not build (${have.addon.reason}); inotifywait is installed` };
  return { source: "chokidar", why: `auto: the inotify addon did not build (${have.addon.reason}) and inotifywait is not installed` };
}

// The message for a tree that needs more inotify watches than the kernel allows.
export function watchLimitMessage(source: string, needed: number | undefined, limit: number | undefined): string {
  const need = needed === undefined ? "one inotify watch per directory" : `${needed} inotify watches (one per directory)`;
  const have = limit === undefined ? "" : ` but fs.inotify.max_user_watches is ${limit}`;
  const target = needed === undefined ? "" : ` to at least ${needed} plus what other programs use`;
  return (
    `cannot watch ${source}: the tree needs ${need}${have}; raise the sysctl fs.inotify.max_user_watches${target} ` +
    `(manifest key sysctl: fs.inotify.max_user_watches, or sysctl -w fs.inotify.max_user_watches=N)`
  );
}
