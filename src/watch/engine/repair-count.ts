import { displayPath, type BytePath } from "../byte-path.ts";
import type { KnownPaths } from "./known-paths.ts";

// One full sync's count of repaired paths: those it created, updated or deleted on the target that
// the event path did not have pending (known-paths.ts). A path is checked as rsync reports it and
// again once the run is over, so a change whose event arrived a moment after rsync sent it is the
// events' work, not a repair. Only the suspects are kept (a real divergence), never every path.

export const REPAIRED_SAMPLE = 5;

export interface RepairCount {
  add(path: BytePath): void;
  /** The count and a few paths (display form); undefined when the events' paths were not tracked (over the bound). */
  result(): { readonly count: number; readonly sample: readonly string[] } | undefined;
}

export function startRepairCount(known: KnownPaths): RepairCount {
  // A set: a user's -v or -i in rsyncArgs prints a path twice.
  const suspects = new Set<BytePath>();
  return {
    add: (path) => {
      if (!known.covers(path)) suspects.add(path);
    },
    result: () => {
      if (known.overflowed()) return undefined;
      const repaired = [...suspects].filter((p) => !known.covers(p));
      return { count: repaired.length, sample: repaired.slice(0, REPAIRED_SAMPLE).map(displayPath) };
    },
  };
}
