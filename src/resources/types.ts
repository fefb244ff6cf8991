import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Inventory } from "../state/inventory.ts";
import type { AccountsActual } from "./account/read.ts";
import type { Host } from "./host.ts";
import type { MarkedProcess } from "./process/markers.ts";

// What every resource kind shares: the shape of a change, and the contexts the reconciler hands
// to a kind's builder, reader, planner and applier. A kind (one folder) defines its own desired,
// actual and change types on top of these; kinds.ts lists the kinds.

export type ChangeOp = "create" | "update" | "delete";

/** What every planned change has, whatever its kind. */
export interface ChangeBase {
  /** The resource's id, e.g. `file:/etc/rsyncd.conf` (kind and natural key). */
  readonly id: string;
  readonly op: ChangeOp;
  /** One line: what and why (`sysctl fs.inotify.max_user_watches: 8192 -> 30000000`). */
  readonly title: string;
  /** Further lines: unified diff, masked secret users, changed start-up lines. */
  readonly details: readonly string[];
  /** Ids of changes that must succeed first. */
  readonly dependsOn: readonly string[];
  /** Set when this change cannot be carried out as planned (shown by diff, failed by apply). */
  readonly blocked?: string;
}

/** What every desired resource has. */
export interface ResourceBase {
  readonly id: string;
  readonly dependsOn: readonly string[];
}

/** What the builders need that is not in the manifest; read by the reconciler before building. */
export interface BuildInputs {
  /** uid and gid rtsync runs as: owner of the files it writes. */
  readonly uid: number;
  readonly gid: number;
  /** Owner of module directories when the daemon sets no uid/gid and runs as root (rsync's nobody). */
  readonly rootTransferOwner?: { readonly user: string; readonly group: string };
  readonly passwords: ReadonlyMap<string, PasswordResult>;
  /** Absolute paths of the programs rtsync runs. */
  readonly tools: { readonly rsync: string; readonly inotifywait?: string; readonly setpriv?: string; readonly ssh?: string };
}

export type PasswordResult = { readonly ok: true; readonly password: string } | { readonly ok: false; readonly message: string };

/** What readers share, read once per plan. */
export interface ReadContext {
  readonly host: Host;
  readonly accounts: AccountsActual;
  readonly inventory: Inventory;
  /** Live processes that carry this stateDir's marker (see process/markers.ts). */
  readonly marked: readonly MarkedProcess[];
}

/** What planners may know beyond their own resource. Plain data: planning is pure. */
export interface PlanContext {
  readonly manifest: string;
  /** The manifest's identity (ResolvedManifest.owner): what it may manage, stop and prune. */
  readonly owner: string;
  readonly node: string;
  readonly isRoot: boolean;
  readonly accounts: AccountsActual;
  /** Accounts and groups this plan creates before the resources that need them. */
  readonly creates: { readonly users: ReadonlySet<string>; readonly groups: ReadonlySet<string> };
  readonly inventory: Inventory;
  /** Whether each process of the inventory still runs, by resource id (`daemon:NAME`, `watcher:NAME`). */
  readonly alive: ReadonlyMap<string, boolean>;
  readonly marked: readonly MarkedProcess[];
}

/** What appliers may use: the OS seam, and the bookkeeping they must keep. */
export interface ApplyContext {
  readonly host: Host;
  readonly manifest: string;
  readonly owner: string;
  readonly node: string;
  readonly stateDir: string;
  /** The accounts and groups as they are now (read again after one was created). */
  accounts(): Promise<AccountsActual>;
  /** Forget the accounts read so far (a group or account was just created). */
  forgetAccounts(): void;
  /** Changes the inventory under the apply lock and writes it at once. */
  updateInventory(change: (inventory: Inventory) => void): Promise<void>;
  /** How to run rtsync itself, for watcher processes. */
  readonly selfCommand: readonly string[];
  /** rtsync's own environment: only what buildChildEnv passes on reaches a child. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** What an applier did beyond its change: the process it started. */
export interface ApplyEffect {
  readonly pid?: number;
}

/** A JSON value, for the --json projection of a change. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * One kind of resource: how to build it from the manifest (pure), read what the machine has
 * (observes), plan the difference (pure), carry a change out (changes the world), and describe a
 * change for --json (pure, never a secret). Daemons and watchers also prune what the manifest no
 * longer declares.
 */
export interface ResourceKind<D extends ResourceBase, A, C extends ChangeBase> {
  build(m: ResolvedManifest, inputs: BuildInputs): readonly D[];
  read(desired: D, ctx: ReadContext): Promise<A>;
  plan(desired: D, actual: A, ctx: PlanContext): C | undefined;
  prune?(desired: readonly D[], ctx: PlanContext): readonly C[];
  /** Starts, without waiting, what this kind's changes of the plan will need (the watch host), so it is ready when they are applied. */
  prepare?(changes: readonly C[], ctx: ApplyContext): void;
  apply(change: C, ctx: ApplyContext): Promise<ApplyEffect>;
  describe(change: C): { readonly [key: string]: JsonValue };
  /** Something the operator should know even when nothing changes (a secret in a directory others can write). Pure. */
  notice?(desired: D, actual: A): string | undefined;
}
