import type { LogRecord } from "../../state/watch-log.ts";
import type { WatcherStatusDoc } from "../../state/watcher-status.ts";
import { UNWATCHED_LISTED, unwatchedProblem, type UnwatchedDir } from "../../state/unwatched.ts";
import { displayPath } from "../byte-path.ts";
import type { WatchEvent } from "../engine/events.ts";

// The watcher status's unwatched directories (issue 18), from the engine's `unwatched` event:
// the list (capped, oldest first), the count, and the limit they hit. Pure.

type UnwatchedEvent = Extract<WatchEvent, { type: "unwatched" }>;

const iso = (ms: number): string => new Date(ms).toISOString();

// The dirs as status.json lists them: oldest first, then by path, at most UNWATCHED_LISTED.
function listed(e: UnwatchedEvent): UnwatchedDir[] {
  return [...e.dirs]
    .sort((a, b) => a.since - b.since || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, UNWATCHED_LISTED)
    .map((d) => ({ path: displayPath(d.path), reason: d.reason, since: iso(d.since) }));
}

/** The status after the set of unwatched directories changed. */
export function withUnwatched(s: WatcherStatusDoc, e: UnwatchedEvent): WatcherStatusDoc {
  return { ...s, unwatched: listed(e), unwatchedCount: e.dirs.length, maxUserWatches: e.maxUserWatches ?? null };
}

/** The log line: a warning while some are unwatched, and one when all are watched again. */
export function unwatchedLogRecord(e: UnwatchedEvent): LogRecord {
  const dirs = listed(e);
  const view = { unwatched: dirs, unwatchedCount: e.dirs.length, maxUserWatches: e.maxUserWatches ?? null };
  const message = unwatchedProblem(view) ?? "every directory under the source is watched again";
  return { at: iso(e.at), type: "unwatched", count: e.dirs.length, sample: dirs.slice(0, 5).map((d) => d.path), message };
}
