import { messageOf, RtsyncError } from "../core/errors.ts";
import { readAccounts, type AccountsActual } from "../resources/account/read.ts";
import type { Host } from "../resources/host.ts";
import { KINDS, type ChangeOf, type KindName } from "../resources/kinds.ts";
import type { ApplyResult, Plan } from "../resources/plan-types.ts";
import type { ApplyContext, ApplyEffect } from "../resources/types.ts";
import { readInventoryForRepair, setCorruptInventoryAside, writeInventory, type Inventory } from "../state/inventory.ts";
import type { Desired } from "./desired.ts";

// Runs a Plan: one change at a time in plan order. A change whose dependency failed or was
// skipped is skipped (a daemon is never restarted on a config that failed to write); the others
// go on. Each result is reported as it happens. Must run under the apply lock (lock.ts).

export interface ApplyOptions {
  readonly host: Host;
  /** rtsync's environment: children get only what buildChildEnv passes on. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How to run rtsync itself, for watcher processes. */
  readonly selfCommand: readonly string[];
  readonly onResult?: (r: ApplyResult) => void;
}

function buildApplyContext(desired: Desired, options: ApplyOptions): ApplyContext {
  let accounts: AccountsActual | undefined;
  let inventory: Inventory | undefined;
  // A corrupt inventory is rebuilt (the plan adopted what runs); the old file is kept aside.
  const loadInventory = async (): Promise<Inventory> => {
    const found = await readInventoryForRepair(desired.stateDir);
    if (found.warning !== undefined) await setCorruptInventoryAside(desired.stateDir);
    return found.inventory;
  };
  return {
    host: options.host,
    manifest: desired.manifest,
    owner: desired.owner,
    node: desired.node,
    stateDir: desired.stateDir,
    selfCommand: options.selfCommand,
    env: options.env,
    accounts: async () => (accounts ??= await readAccounts(options.host)),
    forgetAccounts: () => {
      accounts = undefined;
    },
    updateInventory: async (change) => {
      inventory ??= await loadInventory();
      change(inventory);
      await writeInventory(desired.stateDir, inventory);
    },
  };
}

function applyOne<K extends KindName>(kind: K, change: ChangeOf<K>, ctx: ApplyContext): Promise<ApplyEffect> {
  return KINDS[kind].apply(change, ctx);
}

function prepareKind<K extends KindName>(kind: K, changes: readonly ChangeOf<K>[], ctx: ApplyContext): void {
  if (changes.length > 0) KINDS[kind].prepare?.(changes, ctx);
}

// The message of a failed change: the system's reason, or (for a bug) a request to report it.
function failureMessage(error: unknown): string {
  if (error instanceof RtsyncError && error.source !== "internal") return error.message;
  return `internal error, please report it: ${messageOf(error)}`;
}

/** Carries out `plan`; returns one result per change. Never throws for a single change. */
export async function applyPlan(plan: Plan, desired: Desired, options: ApplyOptions): Promise<ApplyResult[]> {
  const ctx = buildApplyContext(desired, options);
  const notDone = new Set<string>();
  const results: ApplyResult[] = [];
  const report = (r: ApplyResult) => {
    results.push(r);
    if (r.status !== "changed") notDone.add(r.change.id);
    options.onResult?.(r);
  };
  // What takes a while to get ready (the watch host's start) overlaps with the changes before it.
  for (const kind of Object.keys(KINDS) as KindName[]) prepareKind(kind, plan.changes.filter((c): c is ChangeOf<typeof kind> => c.kind === kind && c.blocked === undefined), ctx);
  for (const change of plan.changes) {
    // A change that cannot be applied says why itself, before any dependency that failed.
    if (change.blocked) {
      report({ change, status: "failed", message: change.blocked });
      continue;
    }
    const failedDep = change.dependsOn.find((id) => notDone.has(id));
    if (failedDep) {
      report({ change, status: "skipped", message: `skipped because ${failedDep} was not applied` });
      continue;
    }
    try {
      const effect = await applyOne(change.kind, change, ctx);
      report({ change, status: "changed", ...(effect.pid === undefined ? {} : { pid: effect.pid }) });
    } catch (e) {
      report({ change, status: "failed", message: failureMessage(e) });
    }
  }
  return results;
}
