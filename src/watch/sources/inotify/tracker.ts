import type { BytePath } from "../../byte-path.ts";
import { WatchSourceError, type SourceEvent } from "../source.ts";
import { ERRNO, type WatchKernel } from "./kernel.ts";
import { MovePairing, type PendingMove } from "./pairing.ts";
import { IN, describeMask, type RawEvent } from "./records.ts";
import { UnwatchedSet } from "./unwatched.ts";
import { AddWatchError, joinPath, walkDirectory, type WalkResult } from "./walker.ts";
import { WatchTree } from "./wd-tree.ts";

// From raw inotify events to SourceEvents, keeping the watch tree right. Everything the kernel
// tells is applied in queue order. New directories are watched after the events of the read
// are applied (`flush`), so the names the tree gives them are as fresh as the queue allows: the
// file system is ahead of the queue, and a path built from a tree that has not yet seen an
// ancestor's rename would watch whatever now sits at the old name. The one other truth is what
// add_watch answers: a wd already known is a directory that moved, and the tree follows it.
// No clock, no timers: a read that finds the queue empty (`drained`) is the only "later".
//
// Deliberately conservative: whenever a name cannot be known for sure, the directory is sent
// whole (a `create-dir`, a `move-to` of a directory), which the engine replicates as a tree.

interface Intent {
  readonly parent: number;
  readonly name: BytePath;
  /** Report it as a `create-dir` once watched (a move-to was reported when it was seen). */
  readonly announce: boolean;
}

export class InotifyTracker {
  readonly tree = new WatchTree();
  private readonly moves = new MovePairing();
  /**
   * Directories to watch (and list) at the next flush, by "parentWd/name": created or moved in
   * since, or not found where the tree says they are (the queue still holds an ancestor's
   * rename; tried again at each flush until watched, or until an event says they are gone).
   */
  private readonly intents = new Map<string, Intent>();
  /**
   * Directories the kernel would not watch (watch limit, path too long, no permission): the rest
   * of the tree is watched as usual; `retryUnwatched` tries them again and asks for a rescan of
   * each that is still not watched.
   */
  readonly unwatched = new UnwatchedSet();
  private readonly kernel: WatchKernel;
  private readonly source: string;
  private readonly now: () => number;

  /** `source` names the watched directory in error messages; `now` stamps unwatched directories. */
  constructor(kernel: WatchKernel, source: string, now: () => number = Date.now) {
    this.kernel = kernel;
    this.source = source;
    this.now = now;
  }

  // Walks (parent, name) and records what the kernel would not watch.
  private walk(parent: number, name: BytePath, visited?: Set<number>): WalkResult {
    const result = walkDirectory(this.kernel, this.tree, parent, name, visited);
    for (const u of result.unwatched) this.unwatched.add(u, this.now());
    return result;
  }

  /**
   * Tries every unwatched directory again; one that is watched now, or still is not, is sent
   * whole (a `rescan` of it): its changes were not seen. One gone or moved is forgotten (its
   * parent's events told, or will tell, what happened to it).
   */
  retryUnwatched(out: SourceEvent[]): void {
    for (const u of this.unwatched.list()) {
      const base = this.tree.pathOf(u.parent);
      if (base === undefined || this.tree.childOf(u.parent, u.name) !== undefined) {
        this.unwatched.drop(u.parent, u.name); // its parent is gone, or it is watched already
        continue;
      }
      const result = this.walk(u.parent, u.name);
      this.forget(result.replaced);
      for (const moved of result.moved) this.foundMoved(moved.wd, moved.from, out);
      const watched = this.tree.childOf(u.parent, u.name) !== undefined;
      if (result.missed || watched) this.unwatched.drop(u.parent, u.name);
      // A path past PATH_MAX is not sent while unwatched: rsync cannot send it either ("filename
      // overflows max-path len", exit 23, found while it reads the parent), a rescan would only fail.
      if (!result.missed && (watched || u.reason !== "name-too-long")) out.push({ type: "rescan", path: joinPath(base, u.name), isDir: true, reason: "an unwatched directory" });
    }
  }

  /** Watches the source and every directory under it; returns the number of watches. */
  start(): number {
    const wd = this.kernel.addWatch("");
    if (wd < 0) {
      if (-wd === ERRNO.ENOENT || -wd === ERRNO.ENOTDIR) throw new WatchSourceError("root-gone", `the watched directory ${this.source} does not exist or is not a directory`);
      throw new AddWatchError(-wd, "");
    }
    this.tree.setRoot(wd);
    for (const name of this.kernel.listSubdirs("") ?? []) this.walk(wd, name);
    return this.tree.size;
  }

  /** Applies one read's events in order, appending what changed to `out`; call `flush` after. */
  handle(events: readonly RawEvent[], out: SourceEvent[]): void {
    for (const e of events) this.handleOne(e, out);
  }

  /** The queue was found empty: moves that no watch can settle went out of the tree. Flushes. */
  drained(out: SourceEvent[]): void {
    for (const move of this.moves.takeUnwatched()) this.movedOut(move, out);
    this.flush(out);
  }

  /** Watches the directories that appeared; call after every read, before the events go out. */
  flush(out: SourceEvent[]): void {
    // Walks may add intents (a moved directory's old place): they are taken in the next round.
    const tried = new Set<string>();
    for (let round = [...this.intents]; round.length > 0; round = [...this.intents].filter(([key]) => !tried.has(key))) {
      for (const [key, intent] of round) {
        tried.add(key);
        if (!this.tree.has(intent.parent)) {
          this.intents.delete(key); // its parent is gone: so is it
          continue;
        }
        const result = this.walk(intent.parent, intent.name);
        this.forget(result.replaced);
        for (const moved of result.moved) this.foundMoved(moved.wd, moved.from, out);
        if (result.missed) continue; // kept: an event in the queue will say where it went
        this.intents.delete(key);
        const base = this.tree.pathOf(intent.parent);
        if (intent.announce && base !== undefined) out.push({ type: "create-dir", path: joinPath(base, intent.name), isDir: true });
      }
    }
  }

  private intend(parent: number, name: BytePath, announce: boolean): void {
    const key = `${parent}/${name}`;
    const known = this.intents.get(key);
    this.intents.set(key, { parent, name, announce: announce || (known?.announce ?? false) });
  }

  private handleOne(e: RawEvent, out: SourceEvent[]): void {
    const root = this.tree.root;
    if ((e.mask & IN.Q_OVERFLOW) !== 0) {
      this.recrawl();
      out.push({ type: "overflow", path: "", isDir: true });
      return;
    }
    if (e.wd === root && (e.mask & (IN.DELETE_SELF | IN.MOVE_SELF | IN.UNMOUNT | IN.IGNORED)) !== 0) {
      throw new WatchSourceError("root-gone", `the watched directory ${this.source} was deleted, moved or unmounted (${describeMask(e.mask)})`);
    }
    if (!this.tree.has(e.wd)) return; // a watch already forgotten (moved out, deleted, removed)
    if ((e.mask & IN.MOVE_SELF) !== 0) {
      const move = this.moves.takeWatch(e.wd);
      if (move !== undefined) this.movedOut(move, out); // no MOVED_TO before it: none will come
      return;
    }
    if ((e.mask & IN.IGNORED) !== 0) {
      const move = this.moves.takeWatch(e.wd);
      if (move !== undefined) this.movedOut(move, out);
      this.forget(this.tree.detach(e.wd).filter((wd) => wd !== e.wd));
      return;
    }
    if ((e.mask & IN.UNMOUNT) !== 0) {
      // A file system under the tree was unmounted: what was beneath its mount point shows again.
      const place = this.tree.placeOf(e.wd);
      this.forget(this.tree.detach(e.wd));
      if (place !== undefined) this.intend(place.parent, place.name, true);
      return;
    }
    if (e.name === "") return; // the directory's own ATTRIB/DELETE_SELF: its parent reports it by name
    const isDir = (e.mask & IN.ISDIR) !== 0;
    const base = this.tree.pathOf(e.wd);
    const path = base === undefined ? undefined : joinPath(base, e.name);
    if ((e.mask & (IN.DELETE | IN.MOVED_FROM)) !== 0) {
      this.intents.delete(`${e.wd}/${e.name}`); // gone from there
      if (isDir) this.unwatched.drop(e.wd, e.name);
    }
    if ((e.mask & IN.MOVED_FROM) !== 0) {
      const wd = isDir ? this.tree.childOf(e.wd, e.name) : undefined;
      if (wd !== undefined) this.tree.unhook(wd);
      const older = this.moves.moveFrom({ cookie: e.cookie, path, isDir, wd });
      if (older !== undefined) this.movedOut(older, out);
    } else if ((e.mask & IN.MOVED_TO) !== 0) {
      this.movedTo(e.wd, e.name, e.cookie, isDir, path, out);
    } else if ((e.mask & IN.CREATE) !== 0 && isDir) {
      this.intend(e.wd, e.name, true);
    } else if ((e.mask & IN.DELETE) !== 0 && isDir) {
      const wd = this.tree.childOf(e.wd, e.name);
      if (wd !== undefined) this.forget(this.tree.detach(wd));
      if (path !== undefined) out.push({ type: "delete", path, isDir });
    } else if (path === undefined) {
      // Inside a directory whose move is not complete: the whole moved tree is sent when it is.
    } else if ((e.mask & IN.CREATE) !== 0) out.push({ type: this.kernel.isNewRegularFile(path) ? "create" : "change", path, isDir });
    else if ((e.mask & IN.CLOSE_WRITE) !== 0) out.push({ type: "change", path, isDir });
    else if ((e.mask & IN.MODIFY) !== 0) out.push({ type: "modify", path, isDir });
    else if ((e.mask & IN.DELETE) !== 0) out.push({ type: "delete", path, isDir });
    else if ((e.mask & IN.ATTRIB) !== 0) out.push({ type: "attrib", path, isDir });
  }

  private movedTo(parent: number, name: BytePath, cookie: number, isDir: boolean, path: BytePath | undefined, out: SourceEvent[]): void {
    const from = this.moves.moveTo(cookie);
    if (isDir) {
      if (from?.wd !== undefined && this.tree.has(from.wd)) {
        const replaced = this.tree.attach(from.wd, parent, name);
        if (replaced !== undefined) this.forget(replaced);
        else {
          this.forget(this.tree.detach(from.wd)); // the tree cannot place it (it lags): watched afresh
          this.intend(parent, name, false);
        }
      } else {
        const gone = this.tree.childOf(parent, name);
        if (gone !== undefined) this.forget(this.tree.detach(gone)); // renamed over
        this.intend(parent, name, false);
      }
    }
    if (path === undefined) return;
    if (from?.path !== undefined) {
      out.push({ type: "move-from", path: from.path, isDir: from.isDir });
      out.push({ type: "move-to", path, isDir, from: from.path });
    } else out.push({ type: "move-to", path, isDir });
  }

  // A move nothing completed: the old name is gone from the tree (a delete of the whole tree).
  private movedOut(move: PendingMove, out: SourceEvent[]): void {
    if (move.wd !== undefined && this.tree.isUnhooked(move.wd)) this.forget(this.tree.detach(move.wd));
    if (move.path !== undefined) out.push({ type: "delete", path: move.path, isDir: move.isDir });
  }

  // A walk found a known watch under a new name: the directory moved before its events were
  // read. Its pending move is settled (the old name is gone), and whatever now sits where the
  // tree had it is watched afresh and sent whole.
  private foundMoved(wd: number, from: { readonly parent: number; readonly name: BytePath } | undefined, out: SourceEvent[]): void {
    const move = this.moves.takeWatch(wd);
    if (move?.path !== undefined) out.push({ type: "delete", path: move.path, isDir: true });
    if (from !== undefined && this.tree.childOf(from.parent, from.name) === undefined) this.intend(from.parent, from.name, true);
  }

  /** Events were dropped: every directory is listed again; watches of directories gone are removed. */
  recrawl(): void {
    const root = this.tree.root;
    if (root === undefined) return;
    this.moves.takeAll();
    this.intents.clear();
    const wd = this.kernel.addWatch("");
    if (wd !== root) throw new WatchSourceError("root-gone", `the watched directory ${this.source} was replaced while events were dropped`);
    const visited = new Set([root]);
    for (const name of this.kernel.listSubdirs("") ?? []) this.forget(this.walk(root, name, visited).replaced);
    // Anything not seen is gone, or hangs under a name the recrawl did not reach.
    const stale = [...this.tree.wds()].filter((w) => !visited.has(w));
    for (const w of stale) this.forget(this.tree.detach(w));
  }

  // Removes the watches of directories the tree let go, unless a walk found them again meanwhile.
  private forget(wds: readonly number[]): void {
    for (const wd of wds) if (!this.tree.has(wd)) this.kernel.rmWatch(wd);
  }
}
