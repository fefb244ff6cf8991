import { accountKind, groupKind, type AccountActual, type AccountChange, type DesiredAccount, type DesiredGroup, type GroupChange } from "./account/index.ts";
import { authorizedKeysKind, type AuthorizedKeysActual, type AuthorizedKeysChange, type DesiredAuthorizedKeys } from "./authorized-keys/index.ts";
import { daemonKind, type DaemonActual, type DaemonChange, type DesiredDaemon } from "./daemon/index.ts";
import { directoryKind, type DesiredDirectory, type DirectoryActual, type DirectoryChange } from "./directory/index.ts";
import type { DesiredFile } from "./file/build.ts";
import { fileKind, type FileActual, type FileChange } from "./file/index.ts";
import { sysctlKind, type DesiredSysctl, type SysctlActual, type SysctlChange } from "./sysctl/index.ts";
import type { ResourceKind } from "./types.ts";
import { watcherKind, type DesiredWatcher, type WatcherActual, type WatcherChange } from "./watcher/index.ts";

// The registry of resource kinds. A kind is one folder (build, read, plan, apply, describe) plus
// its line here; the reconciler, the renderers and --json work through this registry only. The
// order of KINDS is the order apply works in: kernel, accounts, directories, files, processes.

interface KindTypes {
  sysctl: { desired: DesiredSysctl; actual: SysctlActual; change: SysctlChange };
  group: { desired: DesiredGroup; actual: AccountActual; change: GroupChange };
  account: { desired: DesiredAccount; actual: AccountActual; change: AccountChange };
  directory: { desired: DesiredDirectory; actual: DirectoryActual; change: DirectoryChange };
  file: { desired: DesiredFile; actual: FileActual; change: FileChange };
  "authorized-keys": { desired: DesiredAuthorizedKeys; actual: AuthorizedKeysActual; change: AuthorizedKeysChange };
  daemon: { desired: DesiredDaemon; actual: DaemonActual; change: DaemonChange };
  watcher: { desired: DesiredWatcher; actual: WatcherActual; change: WatcherChange };
}

export type KindName = keyof KindTypes;
export type DesiredOf<K extends KindName> = KindTypes[K]["desired"];
export type ActualOf<K extends KindName> = KindTypes[K]["actual"];
export type ChangeOf<K extends KindName> = KindTypes[K]["change"];

export const KINDS: { readonly [K in KindName]: ResourceKind<DesiredOf<K>, ActualOf<K>, ChangeOf<K>> } = {
  sysctl: sysctlKind,
  group: groupKind,
  account: accountKind,
  directory: directoryKind,
  file: fileKind,
  "authorized-keys": authorizedKeysKind,
  daemon: daemonKind,
  watcher: watcherKind,
};

/** The kinds in apply order. */
export const KIND_ORDER = Object.keys(KINDS) as readonly KindName[];

/** Any planned change: a discriminated union on `kind`. */
export type Change = { [K in KindName]: ChangeOf<K> }[KindName];

/** What one node should have, by kind. */
export type DesiredResources = { readonly [K in KindName]: readonly DesiredOf<K>[] };
