import { ancestorsOf, type BytePath } from "../byte-path.ts";
import type { Change } from "../batching/types.ts";

// What the event path knows about a lane's tree: every path a change named that is not known to be
// on the target yet (waiting, in flight, given up, or arriving while a full sync runs). A full sync
// that creates, updates or deletes one of them is only doing the event path's work; any other path
// it changes is a divergence the events never saw (a deleted module, an edited replica, an unwatched
// subtree), counted as repaired (lane.ts). Each path carries the generation it was last named in,
// so a run that succeeds forgets only what it sent, not what changed again meanwhile.
//
// Bounded: past `max` paths (or a change of the whole tree) it stops naming paths and says
// "everything is known" until the next successful full sync, which then counts nothing.

export const MAX_KNOWN_PATHS = 100_000;

export interface KnownPaths {
  add(changes: readonly Change[]): void;
  /** The generation now: taken when a run starts, given back when it succeeded. */
  mark(): number;
  /** An incremental run that started at `mark` succeeded: its paths are on the target. */
  sent(paths: Iterable<BytePath>, mark: number): void;
  /** A full sync that started at `mark` succeeded: everything named before it is on the target. */
  synced(mark: number): void;
  /** The event path has `path` (or a directory tree above it) pending; always true once over the bound. */
  covers(path: BytePath): boolean;
  /** Over the bound: paths are not tracked until the next full sync. */
  overflowed(): boolean;
}

export function startKnownPaths(max = MAX_KNOWN_PATHS): KnownPaths {
  let gen = 0;
  const paths = new Map<BytePath, { tree: boolean; gen: number }>();
  let allSince: number | undefined;
  const name = (path: BytePath, tree: boolean): void => {
    const before = paths.get(path);
    paths.set(path, { tree: tree || (before?.tree ?? false), gen });
  };
  return {
    add: (changes) => {
      gen++;
      if (allSince !== undefined) {
        allSince = gen;
        return;
      }
      for (const c of changes) {
        if (c.path === "" && c.tree) {
          allSince = gen;
          paths.clear();
          return;
        }
        name(c.path, c.tree);
        if (c.renamedFrom !== undefined) name(c.renamedFrom, true);
      }
      if (paths.size > max) {
        allSince = gen;
        paths.clear();
      }
    },
    mark: () => gen,
    sent: (sentPaths, mark) => {
      for (const p of sentPaths) if ((paths.get(p)?.gen ?? Infinity) <= mark) paths.delete(p);
    },
    synced: (mark) => {
      if (allSince !== undefined && allSince <= mark) allSince = undefined;
      for (const [p, v] of paths) if (v.gen <= mark) paths.delete(p);
    },
    covers: (path) => {
      if (allSince !== undefined || paths.has(path)) return true;
      return ancestorsOf(path).some((a) => paths.get(a)?.tree === true);
    },
    overflowed: () => allSince !== undefined,
  };
}
