import type { UnwatchedView } from "../state/unwatched.ts";

// `rtsync status` lines about directories inotify would not watch (issue 18). Pure.

const SHOWN = 5;

/** "unwatched: 2 directories, synced whole every 10 s: a (watch-limit, since 12s ago), b (...)", or nothing. */
export function unwatchedLines(s: UnwatchedView, ago: (iso: string) => string | undefined): string[] {
  const dirs = s.unwatched ?? [];
  const count = Math.max(s.unwatchedCount ?? 0, dirs.length);
  if (count === 0) return [];
  const shown = dirs.slice(0, SHOWN).map((d) => `${d.path} (${d.reason}, since ${ago(d.since) ?? d.since})`);
  const more = count > shown.length ? `, and ${count - shown.length} more` : "";
  return [`unwatched: ${count} director${count === 1 ? "y" : "ies"}, synced whole every 10 s: ${shown.join(", ")}${more}`];
}
