// What `rtsync verify` found, as plain data for the renderers (text, and --json as it is).

/** One kind of difference: how many, and the first few paths as rsync prints them. */
export interface DifferenceSet {
  readonly count: number;
  readonly sample: readonly string[];
}

/** One watch's source against one of its targets. */
export interface WatchVerification {
  readonly name: string;
  readonly source: string;
  /** The target as rsync takes it. */
  readonly target: string;
  /** The target's key: the `target` of the watcher's status lanes, log and metrics. */
  readonly key: string;
  /** equal: nothing differs; different: something does; error: the comparison did not finish. */
  readonly result: "equal" | "different" | "error";
  /** On the source, not on the target. */
  readonly missing: DifferenceSet;
  /** On the target only. */
  readonly extra: DifferenceSet;
  /** On both, but the type, size, modification time (or with --checksum the content) or link target differs. */
  readonly different: DifferenceSet;
  readonly error?: string;
  readonly durationMs: number;
}

export interface VerifyReport {
  readonly manifest: string;
  readonly node: string;
  /** Compared by content (--checksum) rather than by size and modification time. */
  readonly checksum: boolean;
  /** One entry per watch and target. */
  readonly watches: readonly WatchVerification[];
  readonly result: "equal" | "different" | "error";
}
