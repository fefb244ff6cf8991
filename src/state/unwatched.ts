import * as z from "zod/mini";

// Directories under a watch's source that inotify would not watch (issue 18): the watch limit was
// reached, the path is longer than PATH_MAX, or the directory may not be read. The rest of the
// tree replicates as usual; these are covered by syncs of each subtree every few seconds, and
// their pending changes are unknown. What the watcher writes about them, and how it reads.

export const UNWATCHED_REASONS = ["watch-limit", "name-too-long", "permission"] as const;
export type UnwatchedReason = (typeof UNWATCHED_REASONS)[number];

/** The unwatched directories status.json lists at most (`unwatchedCount` has them all). */
export const UNWATCHED_LISTED = 20;

export const UnwatchedDirSchema = z.object({
  /** Relative to the source (display form). */
  path: z.string(),
  reason: z.enum(UNWATCHED_REASONS),
  /** Since when it has been unwatched. */
  since: z.string(),
});
export type UnwatchedDir = z.infer<typeof UnwatchedDirSchema>;

/** What a watcher's status says about its unwatched directories (fields absent: none). */
export interface UnwatchedView {
  readonly unwatched?: readonly UnwatchedDir[] | undefined;
  readonly unwatchedCount?: number | undefined;
  readonly maxUserWatches?: number | null | undefined;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

// Why one kind of directory is unwatched, and what to do about it.
function reasonText(reason: UnwatchedReason, maxUserWatches: number | null | undefined): string {
  switch (reason) {
    case "watch-limit": {
      const n = maxUserWatches === null || maxUserWatches === undefined ? "" : ` = ${maxUserWatches}`;
      return `the inotify watch limit (fs.inotify.max_user_watches${n}) is reached; raise it in the manifest's sysctl section`;
    }
    case "name-too-long":
      return "the path is longer than PATH_MAX (4096 bytes) and cannot be watched; shorten it";
    case "permission":
      return "the directory may not be read (EACCES)";
  }
}

/**
 * The one sentence that says which directories are not watched and why (undefined when all
 * are). Pure.
 */
export function unwatchedProblem(s: UnwatchedView): string | undefined {
  const listed = s.unwatched ?? [];
  const count = Math.max(s.unwatchedCount ?? 0, listed.length);
  if (count === 0) return undefined;
  const names = listed.slice(0, 5).map((d) => d.path);
  const more = count > names.length ? `, and ${count - names.length} more` : "";
  const reasons = UNWATCHED_REASONS.filter((r) => listed.some((d) => d.reason === r)).map((r) => reasonText(r, s.maxUserWatches));
  return (
    `${plural(count, "directory is", "directories are")} not watched (${names.join(", ")}${more}): ${reasons.join("; ")}. ` +
    "The rest replicates as changes happen; these are synced whole every 10 s (longer past 1,000 of them) and watched again once the kernel allows it"
  );
}

/** "3" or "3 + unknown in 2 unwatched directories": the pending count as `rtsync status` prints it. Pure. */
export function pendingText(pending: number, s: UnwatchedView): string {
  const count = Math.max(s.unwatchedCount ?? 0, s.unwatched?.length ?? 0);
  return count === 0 ? `${pending}` : `${pending} + unknown in ${plural(count, "unwatched directory", "unwatched directories")}`;
}
