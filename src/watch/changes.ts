import type { Change } from "./batcher.ts";
import type { ExcludeMatcher } from "./exclude-match.ts";
import type { SourceEvent } from "./source.ts";

// From what the source saw to what must be replicated. Pure.

// A directory that appears may already hold files created before its watch existed (mkdir -p,
// mv in, tar x), and one that disappears takes its content along: both are replicated whole.
export function buildChange(event: SourceEvent): Change {
  switch (event.type) {
    case "create":
      return { path: event.path, tree: false, write: "open" };
    case "change":
      return { path: event.path, tree: false, write: "closed" };
    case "attrib":
      return { path: event.path, tree: false };
    case "create-dir":
    case "rescan":
      return { path: event.path, tree: true };
    case "move-to":
      if (event.isDir && event.from !== undefined) return { path: event.path, tree: true, renamedFrom: event.from };
      return event.isDir ? { path: event.path, tree: true } : { path: event.path, tree: false, write: "closed" };
    case "delete":
    case "move-from":
      return event.isDir ? { path: event.path, tree: true } : { path: event.path, tree: false, write: "closed" };
  }
}

/** The changes of a batch of events, minus excluded paths. */
export function buildChanges(events: readonly SourceEvent[], excluded: ExcludeMatcher): Change[] {
  const out: Change[] = [];
  for (const event of events) {
    if (event.type !== "rescan" && excluded(event.path, event.isDir)) continue;
    out.push(buildChange(event));
  }
  return out;
}
