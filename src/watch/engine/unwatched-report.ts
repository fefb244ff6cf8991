import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { readMaxUserWatches } from "../sources/inotify-proc.ts";
import type { UnwatchedDir } from "../sources/source.ts";
import type { WatchEvent } from "./events.ts";

// The engine's `unwatched` events (issue 18): the directories the source could not watch, minus
// excluded ones (nobody's loss), with fs.inotify.max_user_watches when one hit the watch limit
// (read when it is reported, so the status names the value to raise). Only the newest report
// goes out, and nothing while nothing was ever unwatched.

export interface UnwatchedReporter {
  /** The source's whole set, each time it changed. */
  note(dirs: readonly UnwatchedDir[]): void;
  /** The source failed: its next subscription reports its own set. */
  clear(): void;
}

export function makeUnwatchedReporter(excluded: ExcludeMatcher, emit: (event: WatchEvent) => void): UnwatchedReporter {
  let shown = 0;
  let seq = 0;
  const note = (all: readonly UnwatchedDir[]): void => {
    const dirs = all.filter((d) => !excluded(d.path, true));
    if (dirs.length === 0 && shown === 0) return;
    shown = dirs.length;
    const mine = ++seq;
    if (!dirs.some((d) => d.reason === "watch-limit")) return emit({ type: "unwatched", at: Date.now(), dirs });
    void readMaxUserWatches().then((limit) => {
      if (mine === seq) emit({ type: "unwatched", at: Date.now(), dirs, ...(limit === undefined ? {} : { maxUserWatches: limit }) });
    });
  };
  return { note, clear: () => note([]) };
}
