import { writeWatcherStatus, type WatcherStatusDoc } from "../../state/watcher-status.ts";

// The watcher keeps its status document current without writing it on every event: updates are
// coalesced into one atomic write at most every `intervalMs`, and flush() writes at once.

export interface StatusWriter {
  /** Remembers the latest status; it reaches the disk within `intervalMs`. */
  update(status: WatcherStatusDoc): void;
  /** Writes the latest status now and waits for it. */
  flush(): Promise<void>;
}

export function startStatusWriter(watchDir: string, intervalMs = 250, onError: (error: unknown) => void = () => undefined): StatusWriter {
  let latest: WatcherStatusDoc | undefined;
  let written: WatcherStatusDoc | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const write = (): Promise<void> => {
    timer = undefined;
    const status = latest;
    if (status === undefined || status === written) return chain;
    written = status;
    chain = chain.then(() => writeWatcherStatus(watchDir, status)).catch(onError);
    return chain;
  };
  return {
    update: (status) => {
      latest = status;
      timer ??= setTimeout(() => void write(), intervalMs);
    },
    flush: () => {
      clearTimeout(timer);
      return write();
    },
  };
}
