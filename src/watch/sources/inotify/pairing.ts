import type { BytePath } from "../../byte-path.ts";

// Rename pairing by cookie, exact, with no timing window. The kernel queues a rename's
// IN_MOVED_FROM and IN_MOVED_TO back to back from the one rename(2) call (fsnotify_move), then
// IN_MOVE_SELF on the moved directory's own watch. So:
//
// - a MOVED_TO whose cookie is pending pairs with its MOVED_FROM: a rename inside the tree;
// - a watched directory's MOVED_FROM is settled by its MOVE_SELF: if no MOVED_TO came before
//   it, none will, and the directory left the tree (or went where nothing is watched);
// - a file's (or an unwatched directory's) MOVED_FROM has no MOVE_SELF to wait for; it is settled
//   when a read finds the queue empty. A MOVED_TO that a reader could in theory still miss by
//   reading between the two halves then arrives alone and counts as a move into the tree: the
//   replica ends up the same (old name deleted, new name sent), only the rename is not reused.
//
//   MOVED_FROM(c) --MOVED_TO(c)--------------------------> renamed inside the tree
//        |  (watched dir) --MOVE_SELF/IGNORED(wd)--------> moved out
//        +  (file, unwatched dir) --queue drained--------> moved out

export interface PendingMove {
  readonly cookie: number;
  /** The old path; undefined when the move happened inside a directory that was itself moving. */
  readonly path: BytePath | undefined;
  readonly isDir: boolean;
  /** The moved directory's watch, while it has one. */
  readonly wd: number | undefined;
}

export class MovePairing {
  private readonly byCookie = new Map<number, PendingMove>();
  private readonly byWd = new Map<number, number>();

  get size(): number {
    return this.byCookie.size;
  }

  /** Records a MOVED_FROM (a repeated cookie replaces the older half: it cannot pair any more). */
  moveFrom(move: PendingMove): PendingMove | undefined {
    const older = this.take(move.cookie);
    this.byCookie.set(move.cookie, move);
    if (move.wd !== undefined) this.byWd.set(move.wd, move.cookie);
    return older;
  }

  /** The MOVED_FROM a MOVED_TO completes, taken out of the pending set. */
  moveTo(cookie: number): PendingMove | undefined {
    return this.take(cookie);
  }

  /** The pending move of a watched directory (on its MOVE_SELF or IGNORED, or when found elsewhere). */
  takeWatch(wd: number): PendingMove | undefined {
    const cookie = this.byWd.get(wd);
    return cookie === undefined ? undefined : this.take(cookie);
  }

  /** On an empty queue: the moves no MOVED_TO can complete any more (no watch to wait for). */
  takeUnwatched(): PendingMove[] {
    const out: PendingMove[] = [];
    for (const move of this.byCookie.values()) if (move.wd === undefined) out.push(move);
    for (const move of out) this.byCookie.delete(move.cookie);
    return out;
  }

  /** Everything pending (a recrawl settles all of it). */
  takeAll(): PendingMove[] {
    const out = [...this.byCookie.values()];
    this.byCookie.clear();
    this.byWd.clear();
    return out;
  }

  private take(cookie: number): PendingMove | undefined {
    const move = this.byCookie.get(cookie);
    if (move === undefined) return undefined;
    this.byCookie.delete(cookie);
    if (move.wd !== undefined) this.byWd.delete(move.wd);
    return move;
  }
}
