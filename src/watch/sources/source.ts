import { RtsyncError } from "../../core/errors.ts";
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
 * - `attrib`: mode, owner or times changed.
 * - `delete`, `move-from`, `move-to`: the two ends of a rename are reported separately.
 * - `rescan`: something under this directory changed that the source cannot name exactly (a
 *   name that is not UTF-8 under chokidar); "" means the whole tree.
 */
export type SourceEventType = "create" | "create-dir" | "change" | "attrib" | "delete" | "move-from" | "move-to" | "rescan";

export interface SourceEvent {
  readonly type: SourceEventType;
  /** Relative to the source; "" only for a `rescan` of the whole tree. */
  readonly path: BytePath;
  readonly isDir: boolean;
  /** For a `move-to` whose `move-from` inside the tree was seen: the old path. */
  readonly from?: BytePath;
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

export interface SourceHandlers {
  /** Events in the order the source saw them; one call per chunk of output. */
  readonly onEvents: (events: readonly SourceEvent[]) => void;
  /** Called at most once; the subscription delivers nothing afterwards and should be closed. */
  readonly onError: (error: WatchSourceError) => void;
}

export interface Subscription {
  /** Settles when every directory is watched; rejects with a WatchSourceError when setup fails. */
  readonly ready: Promise<{ readonly watches: number }>;
  /** Stops watching; safe to call more than once and after an error. */
  close(): Promise<void>;
}

export interface EventSource {
  readonly kind: SourceKind;
  /** Starts watching the tree; events may arrive before `ready` settles only for chokidar. */
  subscribe(handlers: SourceHandlers): Subscription;
}

// `auto` means inotifywait on Linux when it is installed (one watch per directory), chokidar
// otherwise (one watch per file, see issue 4).
export function pickWatcher(
  kind: WatcherKind,
  platform: NodeJS.Platform,
  inotifywaitInstalled: boolean,
): SourceKind {
  if (kind !== "auto") return kind;
  return platform === "linux" && inotifywaitInstalled ? "inotifywait" : "chokidar";
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
