import { messageOf } from "../../../core/errors.ts";
import { countDirectories, readMaxUserWatches } from "../inotify-proc.ts";
import { dropRepeatedModifies, MODIFY_PAUSE_MS, onlyModifies, WatchSourceError, watchLimitMessage, type EventSource, type SourceEvent, type SourceHandlers, type Subscription } from "../source.ts";
import type { InotifyBinding, InotifyHandle } from "./binding.ts";
import { ERRNO, makeWatchKernel } from "./kernel.ts";
import { parseEventRecords } from "./records.ts";
import { InotifyTracker } from "./tracker.ts";
import { unwatchedRetryMs } from "./unwatched.ts";
import { AddWatchError, joinPath } from "./walker.ts";

// rtsync's own inotify source: one inotify instance per subscription, one watch per directory,
// no child process. The addon polls the fd in Node's event loop and calls `onReadable`; each
// call reads the queue until it is empty or a budget is spent (so a storm in one job cannot
// starve the others in the watch host) and
// hands the tracker's events to the engine in one batch.

export interface InotifySource extends EventSource {
  /** Stops reading the queue (tests provoke an overflow with it); events wait in the kernel. */
  pauseReading(): void;
  resumeReading(): void;
}

const READ_BUFFER = 64 * 1024; // ~2,000 events of short names per read(2)
const READS_PER_WAKE = 64;
// At most ~2,000 events handled per wake: the watch host runs every job's source on one event
// loop, and a storm in one job must not hold it for long (the fd stays readable, so the next turn
// of the loop reads on, after the other jobs' events, timers and children had theirs). Reads go
// on until the queue is found empty (which settles a file's move-from) or this budget is spent.
const BYTES_PER_WAKE = 64 * 1024;

export function makeInotifySource(source: string, binding: InotifyBinding): InotifySource {
  const live = new Set<{ pause(): void; resume(): void }>();
  let paused = false;
  return {
    kind: "inotify",
    subscribe: (handlers) => {
      const sub = startInotify(source, binding, handlers, paused);
      live.add(sub.control);
      void sub.closed.then(() => live.delete(sub.control));
      return sub.subscription;
    },
    pauseReading: () => {
      paused = true;
      for (const s of live) s.pause();
    },
    resumeReading: () => {
      paused = false;
      for (const s of live) s.resume();
    },
  };
}

function instanceError(source: string, errno: number): WatchSourceError {
  if (errno === ERRNO.EMFILE) {
    return new WatchSourceError(
      "instance-limit",
      `cannot watch ${source}: inotify_init1 failed (EMFILE): fs.inotify.max_user_instances is exhausted; raise the sysctl fs.inotify.max_user_instances (manifest key sysctl: fs.inotify.max_user_instances)`,
    );
  }
  return new WatchSourceError("failed", `cannot watch ${source}: inotify_init1 failed (errno ${errno})`);
}

interface Started {
  readonly subscription: Subscription;
  readonly control: { pause(): void; resume(): void };
  readonly closed: Promise<void>;
}

function startInotify(source: string, binding: InotifyBinding, handlers: SourceHandlers, startPaused: boolean): Started {
  let closed = false;
  let failed = false;
  let isReady = false;
  let resolveClosed!: () => void;
  const closedPromise = new Promise<void>((res) => {
    resolveClosed = res;
  });
  let resolveReady!: (v: { watches: number }) => void;
  let rejectReady!: (e: WatchSourceError) => void;
  const ready = new Promise<{ watches: number }>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined); // the caller may only look at onError

  const buffer = Buffer.allocUnsafe(READ_BUFFER);
  let handle: InotifyHandle | undefined;
  let tracker: InotifyTracker | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let pausedByCaller = startPaused;
  let modifyPause: NodeJS.Timeout | undefined;

  // Only writes came: let the kernel merge the next ones for a moment (MODIFY_PAUSE_MS).
  const pauseAfterWrites = (events: readonly SourceEvent[]): void => {
    if (handle === undefined || modifyPause !== undefined || !onlyModifies(events)) return;
    binding.pause(handle);
    modifyPause = setTimeout(() => {
      modifyPause = undefined;
      if (handle !== undefined && !pausedByCaller && !closed && !failed) binding.resume(handle);
    }, MODIFY_PAUSE_MS);
  };

  const shutDown = (): void => {
    clearTimeout(retryTimer);
    clearTimeout(modifyPause);
    if (handle !== undefined) binding.close(handle);
    handle = undefined;
    resolveClosed();
  };

  const fail = (error: WatchSourceError): void => {
    if (closed || failed) return;
    failed = true;
    shutDown();
    if (!isReady) rejectReady(error);
    else handlers.onError(error);
  };

  // Turns whatever the tracker or the addon threw into the source's one error.
  const failWith = (error: unknown): void => {
    if (error instanceof WatchSourceError) fail(error);
    else if (error instanceof AddWatchError && error.errno === ERRNO.ENOSPC) {
      failed = true; // nothing more is delivered while the message is put together
      shutDown();
      void Promise.all([countDirectories(source), readMaxUserWatches()]).then(([needed, limit]) => {
        const limitError = new WatchSourceError("watch-limit", watchLimitMessage(source, needed, limit), { cause: error });
        if (closed) return;
        if (!isReady) rejectReady(limitError);
        else handlers.onError(limitError);
      });
    } else if (error instanceof AddWatchError) {
      fail(new WatchSourceError("failed", `cannot watch ${source}/${Buffer.from(error.path, "latin1").toString("utf8")}: inotify_add_watch failed (errno ${error.errno})`, { cause: error }));
    } else {
      fail(new WatchSourceError("failed", `inotify on ${source}: ${messageOf(error)}`, { cause: error }));
    }
  };

  const onReadable = (): void => {
    if (closed || failed || handle === undefined || tracker === undefined) return;
    const events: SourceEvent[] = [];
    try {
      let drained = false;
      let bytes = 0;
      for (let i = 0; i < READS_PER_WAKE && !drained && bytes < BYTES_PER_WAKE; i++) {
        const n = binding.read(handle, buffer);
        if (n < 0) throw new Error(`read from the inotify fd failed (errno ${-n})`);
        drained = n === 0;
        bytes += n;
        if (!drained) tracker.handle(parseEventRecords(buffer, n), events);
      }
      // New directories are watched before their create-dir goes out (then rsync lists them).
      if (drained) tracker.drained(events);
      else tracker.flush(events);
    } catch (error) {
      if (events.length > 0) handlers.onEvents(dropRepeatedModifies(events));
      failWith(error);
      return;
    }
    if (events.length > 0) handlers.onEvents(dropRepeatedModifies(events));
    pauseAfterWrites(events);
    reportUnwatched();
  };

  // Tells the engine which directories are not watched, whenever that changed; retries them while any are.
  const reportUnwatched = (): void => {
    const t = tracker;
    if (t === undefined || closed || failed) return;
    if (t.unwatched.changed) {
      t.unwatched.changed = false;
      const dirs = t.unwatched.list().flatMap((u) => {
        const base = t.tree.pathOf(u.parent);
        return base === undefined ? [] : [{ path: joinPath(base, u.name), reason: u.reason, since: u.since }];
      });
      handlers.onUnwatched?.(dirs);
    }
    armRetry();
  };

  // While some are unwatched: every few seconds (unwatched.ts), try them again and send them whole (their changes are unseen).
  const armRetry = (): void => {
    if (retryTimer !== undefined || closed || failed || tracker === undefined || tracker.unwatched.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retryUnwatched();
    }, unwatchedRetryMs(tracker.unwatched.size));
    retryTimer.unref();
  };

  const retryUnwatched = (): void => {
    if (closed || failed || tracker === undefined) return;
    const events: SourceEvent[] = [];
    try {
      tracker.retryUnwatched(events);
    } catch (error) {
      if (events.length > 0) handlers.onEvents(events);
      failWith(error);
      return;
    }
    if (events.length > 0) handlers.onEvents(events);
    reportUnwatched();
  };

  const opened = binding.open(onReadable);
  if (typeof opened === "number") {
    failed = true;
    rejectReady(instanceError(source, -opened));
    resolveClosed();
  } else {
    handle = opened;
    if (startPaused) binding.pause(handle);
    const kernel = makeWatchKernel(binding, handle, source);
    tracker = new InotifyTracker(kernel, source);
    const t = tracker;
    // After subscribe() returns, so the caller holds the subscription before anything settles.
    setImmediate(() => {
      if (closed || failed) return;
      try {
        const watches = t.start();
        isReady = true;
        resolveReady({ watches });
        reportUnwatched();
      } catch (error) {
        failWith(error);
      }
    });
  }

  return {
    subscription: {
      ready,
      watches: () => tracker?.tree.size ?? 0,
      close: () => {
        if (!closed) {
          closed = true;
          shutDown();
        }
        return Promise.resolve();
      },
    },
    control: {
      pause: () => {
        pausedByCaller = true;
        if (handle !== undefined) binding.pause(handle);
      },
      resume: () => {
        pausedByCaller = false;
        if (handle !== undefined && modifyPause === undefined) binding.resume(handle);
      },
    },
    closed: closedPromise,
  };
}
