// What one watcher process needs to know, derived from a manifest watch by the reconciler and
// handed to the detached watcher as JSON. It never contains a password: daemon targets with a
// user authenticate through `passwordFile` (a 0600 file under stateDir holding only the password).
export type WatcherKind = "auto" | "inotify" | "inotifywait" | "chokidar" | "poll";

export interface WatchSpec {
  /** The watch's name in the manifest. */
  readonly name: string;
  /** Absolute path of the watched tree, without a trailing slash. */
  readonly source: string;
  /**
   * The rsync destination exactly as rsync takes it, without a trailing slash:
   * `rsync://user@host:port/module/sub`, or an absolute local directory.
   */
  readonly target: string;
  /** True when `target` is an rsync daemon (`rsync://`): adds `--sockopts=TCP_NODELAY`. */
  readonly daemonTarget: boolean;
  /** `--password-file` for a daemon target with a user. */
  readonly passwordFile?: string;
  /** rsync filter patterns (exclude rules), applied to events and to every rsync run. */
  readonly exclude: readonly string[];
  /** Extra quiet time to gather a batch, in ms (0 = send at once after a quiet spell). */
  readonly delayMs: number;
  readonly watcher: WatcherKind;
  /** Extra rsync arguments from the manifest, appended to every run. */
  readonly rsyncArgs: readonly string[];
  /** Run a full sync at start. */
  readonly initialSync: boolean;
  /** Cron expression (5 fields, or 6 with seconds first) of the scheduled full sync. */
  readonly fullSyncSchedule?: string;
  /** Directory owned by this watcher: status.json, log.jsonl. Created by the watcher if missing. */
  readonly stateDir: string;
}
