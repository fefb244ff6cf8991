import type { ToolName } from "../types.ts";

// A tool under test that runs as long-lived processes: rtsync, the classic loop, lsyncd.

export interface PeerEnv {
  readonly source: string;
  readonly replica: string;
  /** a private directory for this session's config, state and logs */
  readonly workDir: string;
  /** the bench's own rsync daemon (the rtsync peers start theirs through `apply`) */
  readonly daemon: { readonly port: number; readonly passwordFile: string; readonly logPath: string };
}

export interface Peer {
  readonly name: ToolName;
  /** the rsync daemon log that this peer's pushes show up in (bytes and runs) */
  readonly daemonLogPath: string;
  /** the tool's own per-run log, when it has one (rtsync's log.jsonl) */
  readonly toolLogPath?: string;
  /** untimed preparation (rtsync: apply the daemon half of the manifest) */
  prepare(): Promise<void>;
  /** starts the tool; the start-up clock runs from the call */
  start(): Promise<void>;
  /** root pids of the tool's process tree (empty until known) */
  roots(): readonly number[];
  stop(): Promise<void>;
}
