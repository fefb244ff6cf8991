import type { Change } from "./kinds.ts";

// The reconciler's results as plain data, for the renderers (text and --json) and the agent.

/** What would change on one node. An empty `changes` means converged. */
export interface Plan {
  readonly manifest: string;
  readonly node: string;
  readonly changes: readonly Change[];
  /** Ids of resources already in their desired state. */
  readonly unchanged: readonly string[];
  /** What the operator should know about the state found (a corrupt inventory being rebuilt). */
  readonly warnings: readonly string[];
}

export type ResultStatus = "changed" | "failed" | "skipped";

/** How one change went. */
export interface ApplyResult {
  readonly change: Change;
  readonly status: ResultStatus;
  readonly message?: string;
  /** The process a daemon or watcher change started. */
  readonly pid?: number;
}

export interface ApplySummary {
  readonly changed: number;
  readonly unchanged: number;
  readonly failed: number;
}
