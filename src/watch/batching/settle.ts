import type { BytePath } from "../byte-path.ts";
import type { SourceEvent } from "../sources/source.ts";
import type { ExcludeMatcher } from "./exclude-match.ts";
import type { Change } from "./types.ts";

// Files written and kept open (a log, a database): the close that normally sends a write never
// comes, so a write arms a timer for its path, and when the timer fires the path is sent as if
// closed. The timer is never pushed back by further writes (that would never fire for a file
// appended every 100 ms): a file that keeps changing is sent every `settleMs`, so the replica's
// copy is never older than the settle time plus one run. A close sends the path at once on the
// normal path and disarms its timer; so do a delete and a move away. Pure: time is an input, the
// engine owns the one timer (engine/settle-timer.ts).
//
//   unarmed --modify--> armed (dueAt = now + settleMs) --modify--> armed (dueAt unchanged)
//      ^                   |                                          |
//      +-- close, delete, -+                                          |
//      |   move away                                                  |
//      +------------------ take (now >= dueAt): sent as closed <------+
//
// Invariant: entries are in the order they were armed, and dueAt = armedAt + settleMs with a
// constant settleMs and a monotonic clock, so the first entry is always the next one due.

export interface SettleState {
  /** Armed paths -> when they are due (performance.now() ms), earliest first. */
  readonly due: ReadonlyMap<BytePath, number>;
}

export const NOTHING_SETTLING: SettleState = { due: new Map() };

/** Arms or disarms the paths of `events`, in their order. Returns `state` itself when nothing changed. */
export function noteSettleEvents(state: SettleState, events: readonly SourceEvent[], now: number, settleMs: number, excluded: ExcludeMatcher): SettleState {
  let due: Map<BytePath, number> | undefined; // a copy, made on the first change
  for (const e of events) {
    const current = due ?? state.due;
    if (e.type === "modify") {
      if (!e.isDir && !current.has(e.path) && !excluded(e.path, false)) (due ??= new Map(state.due)).set(e.path, now + settleMs);
    } else if (e.type === "change" || e.type === "delete" || e.type === "move-from") {
      if (current.has(e.path)) (due ??= new Map(state.due)).delete(e.path);
    }
  }
  return due === undefined ? state : { due };
}

/** The paths due at `now`, as the changes a close would have made, and what stays armed. */
export function takeSettled(state: SettleState, now: number, force = false): { readonly state: SettleState; readonly changes: readonly Change[] } {
  const changes: Change[] = [];
  for (const [path, at] of state.due) {
    if (!force && at > now) continue; // earliest first: the rest are later
    changes.push({ path, tree: false, write: "closed" });
  }
  if (changes.length === 0) return { state, changes };
  if (changes.length === state.due.size) return { state: NOTHING_SETTLING, changes };
  const due = new Map(state.due);
  for (const c of changes) due.delete(c.path);
  return { state: { due }, changes };
}

/** When the next armed path is due, if any. */
export function settleWakeAt(state: SettleState): number | undefined {
  for (const at of state.due.values()) return at;
  return undefined;
}
