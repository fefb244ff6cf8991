import type { UnwatchedReason } from "../../../state/unwatched.ts";
import type { BytePath } from "../../byte-path.ts";
import { ERRNO } from "./kernel.ts";
import type { Unwatchable } from "./walker.ts";

// The directories the kernel would not watch, by their place in the watch tree (parent watch and
// name, as the tracker's intents), so a rename of an ancestor keeps their path right. Each keeps
// the time it was first refused. The tracker retries them; the source reports the set.

export interface UnwatchedEntry {
  readonly parent: number;
  readonly name: BytePath;
  readonly reason: UnwatchedReason;
  readonly since: number;
}

/** What an errno of inotify_add_watch means for the directory. Pure. */
export function unwatchedReasonOf(errno: number): UnwatchedReason {
  if (errno === ERRNO.ENOSPC) return "watch-limit";
  if (errno === ERRNO.ENAMETOOLONG) return "name-too-long";
  return "permission";
}

const keyOf = (parent: number, name: BytePath): string => `${parent}/${name}`;

export class UnwatchedSet {
  private readonly entries = new Map<string, UnwatchedEntry>();
  /** Set by every change, cleared by whoever reports the set. */
  changed = false;

  get size(): number {
    return this.entries.size;
  }

  /** Records a refusal; one already known keeps its `since`. */
  add(u: Unwatchable, now: number): void {
    const key = keyOf(u.parent, u.name);
    const known = this.entries.get(key);
    const reason = unwatchedReasonOf(u.errno);
    if (known?.reason === reason) return;
    this.entries.set(key, { parent: u.parent, name: u.name, reason, since: known?.since ?? now });
    this.changed = true;
  }

  /** The directory at (parent, name) is gone, moved or watched now. */
  drop(parent: number, name: BytePath): void {
    if (this.entries.delete(keyOf(parent, name))) this.changed = true;
  }

  list(): UnwatchedEntry[] {
    return [...this.entries.values()];
  }
}
