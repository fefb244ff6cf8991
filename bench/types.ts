// The benchmark's vocabulary: which tools and scenarios exist, and what one run records.

export const TOOL_NAMES = ["rtsync-inotify", "rtsync-inotifywait", "rtsync-chokidar", "floor", "lsyncd0", "lsyncd1", "classic"] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

// Run order inside one session. Burst goes last: the classic loop runs one full-tree rsync per
// inotify event line, so after a burst it stays busy for minutes and the session ends there.
export const SCENARIO_NAMES = ["startup", "idle", "latency", "delete-rename", "bigrename", "burst", "storm", "overflow", "soak"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

// What runs without --scenarios. Not bigrename: it writes 100 MiB and waits for every tool to
// replicate it first, and the classic loop, which has no move events, never converges on a
// rename alone (two minutes lost per session before the timeout). Ask for it by name.
// Nor issue 10's storm (50,000 files), overflow (a stalled reader) and soak (12 minutes of mixed
// operations): long, and about the event source rather than the tool as a whole.
export const OPT_IN_SCENARIOS: readonly ScenarioName[] = ["bigrename", "storm", "overflow", "soak"];
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter((s) => !OPT_IN_SCENARIOS.includes(s));

/** What `rsync -anc --delete --itemize-changes SRC/ REPLICA/` found. */
export interface VerifyResult {
  readonly ok: boolean;
  /** on the source, not on the replica */
  readonly missing: number;
  /** on the replica, not on the source */
  readonly extra: number;
  /** on both, different content */
  readonly content: number;
  /** on both, same content, different attributes (times, mode, owner) */
  readonly attrs: number;
  /** the first itemized lines, for the JSON */
  readonly sample: readonly string[];
}

/** One scenario of one run. A metric is null when the event never happened before the timeout. */
export interface ScenarioOutcome {
  readonly metrics: Readonly<Record<string, number | null>>;
  /** metric keys whose value is only a lower bound (the tool was still busy at the timeout) */
  readonly lowerBound?: readonly string[];
  readonly verify?: VerifyResult;
  readonly error?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface RunRecord {
  readonly tool: ToolName;
  readonly size: number;
  readonly run: number;
  readonly scenarios: Partial<Record<ScenarioName, ScenarioOutcome>>;
  readonly error?: string;
  readonly skipped?: string;
}
