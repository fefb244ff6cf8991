import type { BytePath } from "../../byte-path.ts";
import { ERRNO, type WatchKernel } from "./kernel.ts";
import type { WatchTree } from "./wd-tree.ts";

// Watches a directory and everything under it: watch first, then list, so that an entry made
// after the listing is reported by the new watch and one made before it is in the listing (and
// in the tree the caller sends whole). Directories are found by their d_type; files are never
// stat()ed. Synchronous on purpose: the tree and the event stream stay in one order, nothing
// else runs in between.

/** inotify_add_watch refused for a reason other than the directory being gone. */
export class AddWatchError extends Error {
  static {
    this.prototype.name = "AddWatchError";
  }
  readonly errno: number;
  readonly path: BytePath;
  constructor(errno: number, path: BytePath) {
    super(`inotify_add_watch failed with errno ${errno}`);
    this.errno = errno;
    this.path = path;
  }
}

export interface WalkResult {
  /**
   * Known watches found under a new name: directories moved where the events did not say yet.
   * `from` is where the tree had them (unknown now what is there); undefined if unhooked.
   */
  readonly moved: readonly { readonly wd: number; readonly from: { readonly parent: number; readonly name: BytePath } | undefined }[];
  /** Watches of directories that were replaced (a rename over them); the caller removes them. */
  readonly replaced: readonly number[];
  /**
   * The directory itself was not found where the tree says it is. Either it is gone, or the tree
   * lags behind the file system (a rename of an ancestor is still in the queue): the caller tries
   * again once the queue is drained.
   */
  readonly missed: boolean;
  /** Directories the kernel would not watch (ENOSPC, ENAMETOOLONG, EACCES): not listed, left to the caller. */
  readonly unwatched: readonly Unwatchable[];
}

/** A directory inotify_add_watch refused for a reason that concerns it alone. */
export interface Unwatchable {
  readonly parent: number;
  readonly name: BytePath;
  readonly errno: number;
}

/** The relative path of `name` inside the directory at `parent`. */
export function joinPath(parent: BytePath, name: BytePath): BytePath {
  return parent === "" ? name : `${parent}/${name}`;
}

// Gone or not a directory any more (or a symlink): its parent's events say what happened to it.
const VANISHED = new Set([ERRNO.ENOENT, ERRNO.ENOTDIR, ERRNO.ELOOP]);
// Refused for this directory alone: the watch limit is reached, its path is too long, or rtsync
// may not read it. The rest of the tree is watched; the caller covers it otherwise (unwatched.ts).
export const UNWATCHABLE = new Set([ERRNO.ENOSPC, ERRNO.ENAMETOOLONG, ERRNO.EACCES, ERRNO.EPERM]);

/**
 * Watches (parent, name) and its subdirectories. A directory already watched at that place is
 * not listed again unless `visited` is given (a recrawl), which also collects every watch seen.
 * A directory the kernel refuses to watch (UNWATCHABLE) is returned in `unwatched`, its subtree
 * not listed. Throws AddWatchError for unexpected errors.
 */
export function walkDirectory(kernel: WatchKernel, tree: WatchTree, parent: number, name: BytePath, visited?: Set<number>): WalkResult {
  const moved: Moved[] = [];
  const replaced: number[] = [];
  const unwatched: Unwatchable[] = [];
  const stack: [number, BytePath][] = [];
  const acc = { moved, replaced, unwatched, stack };
  const missed = watchOne(kernel, tree, parent, name, visited, acc) === "missed";
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) watchOne(kernel, tree, next[0], next[1], visited, acc);
  return { moved, replaced, missed, unwatched };
}

type Moved = WalkResult["moved"][number];

// Watches one directory and queues its subdirectories on `acc.stack`.
function watchOne(
  kernel: WatchKernel,
  tree: WatchTree,
  at: number,
  name: BytePath,
  visited: Set<number> | undefined,
  acc: { moved: Moved[]; replaced: number[]; unwatched: Unwatchable[]; stack: [number, BytePath][] },
): "watched" | "missed" | "skipped" {
  const base = tree.pathOf(at);
  if (base === undefined) return "missed"; // its parent's move is not complete yet
  const path = joinPath(base, name);
  const wd = kernel.addWatch(path);
  if (wd < 0) {
    if (VANISHED.has(-wd)) return "missed";
    if (UNWATCHABLE.has(-wd)) {
      acc.unwatched.push({ parent: at, name, errno: -wd });
      return "skipped";
    }
    throw new AddWatchError(-wd, path);
  }
  if (tree.childOf(at, name) === wd) {
    if (visited === undefined) return "watched"; // watched and listed before
  } else {
    const from = tree.placeOf(wd);
    if (tree.has(wd)) acc.moved.push({ wd, from });
    const gone = tree.attach(wd, at, name);
    if (gone === undefined) return "missed"; // would make it its own ancestor: the tree lags, try again later
    acc.replaced.push(...gone);
  }
  visited?.add(wd);
  for (const sub of kernel.listSubdirs(path) ?? []) acc.stack.push([wd, sub]);
  return "watched";
}
