import type { BytePath } from "../byte-path.ts";

// The batcher's vocabulary: what a change is, what a batch is, and how batching is tuned.
// (Shared by the batcher and its pending set, which must not import each other.)

/** One change, as the batcher sees it. */
export interface Change {
  /** Relative to the source; "" with `tree` means the whole source (a full sync). */
  readonly path: BytePath;
  /** Replicate the directory and everything under it: it was created, moved or deleted. */
  readonly tree: boolean;
  /**
   * "open": held back, at most holdOpenMs: a new file whose writer has not closed it yet, or a
   * directory moved away whose move-to may follow; "closed": the writer is done.
   */
  readonly write?: "open" | "closed";
  /** A directory renamed inside the tree: its old path (the target may still hold a copy there). */
  readonly renamedFrom?: BytePath;
}

export type Batch =
  | { readonly kind: "full" }
  | {
      readonly kind: "incremental";
      /** path -> tree (true: the directory with everything under it). */
      readonly entries: ReadonlyMap<BytePath, boolean>;
      /** Renamed directories among the entries: new path -> old path. */
      readonly renames: ReadonlyMap<BytePath, BytePath>;
    };


export interface BatcherConfig {
  /** The manifest's `delay`: no batch leaves before its first change is this old. */
  readonly delayMs: number;
  /** A batch leaves once no change arrived for this long... */
  readonly quietMs: number;
  /** ...or once it waited this long past `delayMs` under a steady stream of changes. */
  readonly maxWaitMs: number;
  /** How long a created file is held back waiting for its close, so it is sent once. */
  readonly holdOpenMs: number;
  /** Pending paths beyond which the batch becomes a full sync. */
  readonly maxPaths: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Backoff after a daemon refused the password (exit 5, "auth failed"): slow, it needs a person. */
  readonly authBackoffInitialMs: number;
  readonly authBackoffMaxMs: number;
  /** Attempts of an incremental run that ends in a partial transfer (23) before it is given up. */
  readonly maxPartialAttempts: number;
}

