import type { Change } from "./types.ts";
import type { ExcludeMatcher } from "./exclude-match.ts";
import type { SourceEvent } from "../sources/source.ts";

// From what the source saw to what must be replicated. Pure.

// A directory that appears may already hold files created before its watch existed (mkdir -p,
// mv in, tar x), and one that disappears takes its content along: both are replicated whole.
export function buildChange(event: SourceEvent): Change {
  switch (event.type) {
    case "create":
      return { path: event.path, tree: false, write: "open" };
    case "change":
    case "modify": // only once settled (settle.ts): then it goes out as if closed
      return { path: event.path, tree: false, write: "closed" };
    case "attrib":
      return { path: event.path, tree: false };
    case "create-dir":
    case "rescan":
      return { path: event.path, tree: true };
    case "overflow":
      return { path: "", tree: true }; // the whole source: a full sync (the engine gives it its reason)
    case "move-to":
      if (event.isDir && event.from !== undefined) return { path: event.path, tree: true, renamedFrom: event.from };
      return event.isDir ? { path: event.path, tree: true } : { path: event.path, tree: false, write: "closed" };
    case "move-from":
      // A directory moved away is held (like a file still open) until its move-to arrives, so
      // both ends go out in one batch and the rename step can reuse the old copy: with 10,000
      // watched directories inotifywait printed the MOVED_TO 1-3 ms after the MOVED_FROM, past
      // the batcher's 2 ms quiet window, and the old copy was deleted before the new name was
      // sent. One moved out of the tree (no move-to) goes out when the hold expires.
      return event.isDir ? { path: event.path, tree: true, write: "open" } : { path: event.path, tree: false, write: "closed" };
    case "delete":
      return event.isDir ? { path: event.path, tree: true } : { path: event.path, tree: false, write: "closed" };
  }
}

/** The changes of a batch of events, minus excluded paths and writes not closed yet (settle.ts sends those). */
export function buildChanges(events: readonly SourceEvent[], excluded: ExcludeMatcher): Change[] {
  const out: Change[] = [];
  for (const event of events) {
    if (event.type === "modify") continue;
    if (event.type !== "rescan" && excluded(event.path, event.isDir)) continue;
    out.push(buildChange(event));
  }
  return out;
}
