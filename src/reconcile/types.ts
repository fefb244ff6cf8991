import type { SecretsDelta } from "../render/secrets-file.ts";
import type { WatchSpec } from "../state/watch-spec.ts";

// The reconciler's plain data: what the manifest wants (Desired), what the machine has (Actual),
// and what would change (Plan). Everything here is readonly and printable, except that Desired
// holds file contents (secrets included) which the plan never copies.

export type ResourceKind = "sysctl" | "group" | "account" | "directory" | "file" | "daemon" | "watcher";

export interface Owner {
  readonly user: string;
  readonly group: string;
}

export interface DesiredSysctl {
  readonly id: string;
  readonly key: string;
  readonly value: number;
}

export interface DesiredAccount {
  readonly id: string;
  readonly kind: "account" | "group";
  readonly name: string;
  /** The account's primary group (accounts only). */
  readonly group?: string;
}

export interface DesiredDirectory {
  readonly id: string;
  readonly path: string;
  /** Managed owner, or undefined when rtsync leaves ownership alone. */
  readonly owner?: Owner;
  readonly dependsOn: readonly string[];
  /** Who needs it, e.g. `module backup of daemon backup-server`. */
  readonly purpose: string;
}

export interface DesiredFile {
  readonly id: string;
  readonly path: string;
  readonly purpose: string;
  readonly mode: number;
  /** Numeric owner (the user rtsync runs as: root on a server). */
  readonly uid: number;
  /** `secrets`: user:password lines; `password`: a client password file. Never diffed as text. */
  readonly secret?: "secrets" | "password";
  readonly dependsOn: readonly string[];
  /** The content, or why it cannot be rendered (an unset password variable, …). */
  readonly content: { readonly ok: true; readonly text: string } | { readonly ok: false; readonly message: string };
}

export interface DesiredDaemon {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly config: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly argv: readonly string[];
  /** Hash of everything rsyncd reads only at start-up: a different one means restart. */
  readonly startupHash: string;
  readonly startupLines: readonly string[];
  readonly dependsOn: readonly string[];
}

export interface DesiredWatcher {
  readonly id: string;
  readonly name: string;
  readonly spec: WatchSpec;
  readonly specFile: string;
  readonly specHash: string;
  readonly dependsOn: readonly string[];
}

export interface Desired {
  readonly manifest: string;
  readonly node: string;
  readonly stateDir: string;
  readonly sysctls: readonly DesiredSysctl[];
  readonly accounts: readonly DesiredAccount[];
  readonly directories: readonly DesiredDirectory[];
  readonly files: readonly DesiredFile[];
  readonly daemons: readonly DesiredDaemon[];
  readonly watchers: readonly DesiredWatcher[];
}

// ---- actual state ----

export type SysctlActual = { readonly readable: true; readonly value: number } | { readonly readable: false; readonly message: string };

export type PathActual =
  | { readonly exists: false }
  | { readonly exists: true; readonly isDir: boolean; readonly mode: number; readonly uid: number; readonly gid: number };

export type FileActual =
  | { readonly exists: false }
  | { readonly exists: true; readonly content: string; readonly mode: number; readonly uid: number; readonly gid: number };

/** What the inventory says rtsync started, plus whether it still runs. */
export interface ProcessActual {
  readonly name: string;
  readonly manifest: string;
  readonly node: string;
  readonly pid?: number;
  readonly running: boolean;
  /** startupHash (daemons) or specHash (watchers) it was started with. */
  readonly hash: string;
  /** Daemons: what it was started with, to say why it restarts. Watchers: the spec. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Actual {
  readonly sysctls: ReadonlyMap<string, SysctlActual>;
  readonly users: ReadonlyMap<string, { readonly uid: number; readonly gid: number }>;
  readonly groups: ReadonlyMap<string, number>;
  readonly paths: ReadonlyMap<string, PathActual>;
  readonly files: ReadonlyMap<string, FileActual>;
  /** Every daemon/watcher in the inventory of this stateDir (for prune), keyed by name. */
  readonly daemons: ReadonlyMap<string, ProcessActual>;
  readonly watchers: ReadonlyMap<string, ProcessActual>;
  /** address:port -> who else holds it, for desired daemons that are not running. */
  readonly portConflicts: ReadonlyMap<string, string>;
  /** Root can chown and set sysctls. */
  readonly isRoot: boolean;
}

// ---- the plan ----

export type ChangeOp = "create" | "update" | "delete";

export interface Change {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly op: ChangeOp;
  /** One line: what and why (`~ sysctl fs.inotify.max_user_watches: 8192 -> 30000000`). */
  readonly title: string;
  /** Further lines: unified diff, masked secret users, changed keys. */
  readonly details: readonly string[];
  readonly dependsOn: readonly string[];
  /** Set when this change cannot be carried out as planned (shown by diff, failed by apply). */
  readonly blocked?: string;
  /** Machine-readable particulars for --json and for apply (never a secret). */
  readonly data: Readonly<Record<string, unknown>>;
  /** Secret-file deltas, names only. */
  readonly secrets?: SecretsDelta | undefined;
}

export interface Plan {
  readonly manifest: string;
  readonly node: string;
  readonly changes: readonly Change[];
  /** Ids of resources already in their desired state. */
  readonly unchanged: readonly string[];
}
