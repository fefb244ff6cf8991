import type { WatcherStatusDoc } from "../state/watcher-status.ts";

// What `rtsync status` reports of one node, as plain data for the renderers.

export interface DaemonStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  readonly address: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly problem?: string;
  /** false: it runs but does not greet (daemon/greeting.ts); absent: it greets, or does not run. */
  readonly responding?: false;
}

export interface WatcherStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  readonly source: string;
  /** The first target as rsync takes it (the only one, for most watches). */
  readonly target: string;
  /** Every target, in manifest order. */
  readonly targets: readonly string[];
  readonly healthy: boolean;
  readonly problem?: string;
  /** false: it runs but its heartbeat stopped (state/watcher-liveness.ts); absent: responding, or not running. */
  readonly responding?: false;
  /** The watcher's own status document (undefined before its first write). */
  readonly report?: WatcherStatusDoc;
}

export interface NodeStatus {
  readonly manifest: string;
  readonly node: string;
  readonly daemons: readonly DaemonStatus[];
  readonly watchers: readonly WatcherStatus[];
  readonly healthy: boolean;
  /** What the operator should know about the state found (a corrupt inventory). */
  readonly warnings: readonly string[];
}
