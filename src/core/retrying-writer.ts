import { backoffDelay, type Backoff } from "./backoff.ts";
import { fileStamp } from "./file-stamp.ts";

// Keeps one document on disk: the latest content handed to update() reaches the disk (one write at
// a time, updates within `delayMs` coalesced into one), and a write that fails is tried again with
// backoff until one succeeds. A status document must never stay behind its writer because of one
// bad moment (a full disk, a stateDir made immutable and fixed later): a reader would take the
// old document for the truth ("agent not running" about a running agent).
//
//   idle --update--> due (delayMs) --write ok--> idle
//                      ^  update: latest wins   | write fails: onError, due again after the
//                      +------------------------+ backoff (1 s doubling to 30 s by default)
//
// With `fileOf`, repair() writes the document again when the file on disk is no longer the one this
// writer wrote (removed, or written over by someone else): readers find the writer by it.

export interface RetryingWriter<T> {
  /** Remembers `doc` as the latest; it is written within `delayMs`, and again until a write succeeds. */
  update(doc: T): void;
  /** Writes the latest now if it is not on disk yet; true when it is (a failure keeps retrying). */
  flush(): Promise<boolean>;
  /**
   * With `fileOf`: writes the last document again (at once) when its file was removed or written
   * over since this writer wrote it. One stat; nothing to do before the first write.
   */
  repair(): void;
  /** No more writes or retries (a write under way finishes). */
  close(): void;
}

export interface RetryingWriterOptions<T = unknown> {
  /** Updates within this long become one write (0: at once). */
  readonly delayMs: number;
  readonly retry?: Backoff;
  /** A write failed (`attempt` counts the failures in a row); it is tried again after `retryInMs`. */
  readonly onError?: (error: unknown, attempt: number, retryInMs: number) => void;
  /** A write succeeded after `failures` failed ones. */
  readonly onRecovered?: (failures: number) => void;
  /** The file a document goes to, for repair(). */
  readonly fileOf?: (doc: T) => string;
}

export const DEFAULT_WRITE_RETRY: Backoff = { initialMs: 1000, maxMs: 30_000 };

export function startRetryingWriter<T>(write: (doc: T) => Promise<void>, o: RetryingWriterOptions<T>): RetryingWriter<T> {
  const retry = o.retry ?? DEFAULT_WRITE_RETRY;
  let latest: T | undefined;
  let written: T | undefined;
  // The stamp of `written`'s file right after it was written (fileOf only).
  let writtenStamp: string | undefined;
  let failures = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<boolean> = Promise.resolve(true);

  const schedule = (ms: number): void => {
    if (closed || timer !== undefined) return;
    timer = setTimeout(() => void attempt(), ms);
    // A pending retry alone does not keep the process alive.
    timer.unref();
  };
  const attempt = (): Promise<boolean> => {
    clearTimeout(timer);
    timer = undefined;
    chain = chain.then(async () => {
      const doc = latest;
      if (doc === undefined || doc === written) return true;
      try {
        await write(doc);
      } catch (error) {
        failures++;
        const wait = backoffDelay(failures - 1, retry);
        o.onError?.(error, failures, wait);
        schedule(wait);
        return false;
      }
      written = doc;
      writtenStamp = o.fileOf === undefined ? undefined : fileStamp(o.fileOf(doc));
      if (failures > 0) o.onRecovered?.(failures);
      failures = 0;
      return true;
    });
    return chain;
  };
  return {
    update: (doc) => {
      latest = doc;
      // While a retry waits for its backoff, the new content goes out with it.
      if (failures === 0) schedule(o.delayMs);
    },
    flush: () => (closed ? chain : attempt()),
    repair: () => {
      if (closed || o.fileOf === undefined || written === undefined || fileStamp(o.fileOf(written)) === writtenStamp) return;
      // The same content goes out again (a newer update, if one waits, goes out instead).
      if (latest === written) written = undefined;
      if (failures === 0) schedule(0);
    },
    close: () => {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
