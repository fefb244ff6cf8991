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

/** How often unwatched directories are tried again and synced whole: every 10 s... */
export const UNWATCHED_RETRY_MS = 10_000;
const RETRY_STEP = 1000;
const RETRY_MAX_MS = 10 * 60_000;

/**
 * ...and 10 s more per further 1,000 of them (at most 10 min): each round tries every one again
 * and sends each whole, and past the batcher's maxPaths (10,000) that is a full sync. Pure.
 */
export function unwatchedRetryMs(count: number): number {
  return Math.min(RETRY_MAX_MS, UNWATCHED_RETRY_MS * Math.max(1, Math.ceil(count / RETRY_STEP)));
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
