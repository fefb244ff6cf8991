import { startRetryingWriter } from "../../core/retrying-writer.ts";
import { writeWatcherStatus, type WatcherStatusDoc } from "../../state/watcher-status.ts";

// The watcher keeps its status document current without writing it on every event: updates are
// coalesced into one atomic write at most every `intervalMs`, flush() writes at once, and a write
// that fails (a full disk, an immutable stateDir) is retried with backoff until one succeeds, so
// status.json never stays behind a watcher that runs.

export interface StatusWriter {
  /** Remembers the latest status; it reaches the disk within `intervalMs` (or once the disk takes it). */
  update(status: WatcherStatusDoc): void;
  /** Writes the latest status now and waits for it. */
  flush(): Promise<void>;
}

export function startStatusWriter(watchDir: string, intervalMs = 250): StatusWriter {
  const writer = startRetryingWriter((status: WatcherStatusDoc) => writeWatcherStatus(watchDir, status), { delayMs: intervalMs });
  return {
    update: (status) => writer.update(status),
    flush: async () => {
      await writer.flush();
    },
  };
}
