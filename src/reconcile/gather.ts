import { readAccounts, type AccountsActual } from "../resources/account/read.ts";
import type { Host } from "../resources/host.ts";
import { resourceId } from "../resources/ids.ts";
import { KINDS, type ActualOf, type KindName } from "../resources/kinds.ts";
import { isOurProcess } from "../resources/process/identity.ts";
import { readMarkedProcesses, type MarkedProcess } from "../resources/process/markers.ts";
import type { ReadContext } from "../resources/types.ts";
import { readInventoryForRepair, type Inventory } from "../state/inventory.ts";
import type { Desired } from "./desired.ts";
import { mapKindsAsync } from "./kinds-each.ts";

// What the machine has of everything the desired state names, plus the inventory (for prune).
// Only observes.

export type ActualResources = { readonly [K in KindName]: readonly ActualOf<K>[] };

export interface Actual {
  readonly accounts: AccountsActual;
  readonly inventory: Inventory;
  /** Whether each process in the inventory still runs, by resource id. */
  readonly alive: ReadonlyMap<string, boolean>;
  /** Live processes that carry this stateDir's marker, recorded or not. */
  readonly marked: readonly MarkedProcess[];
  /** What the operator should know about the state found (a corrupt inventory being rebuilt). */
  readonly warnings: readonly string[];
  /** Per kind, in the order of the desired resources. */
  readonly resources: ActualResources;
  readonly isRoot: boolean;
}

/** Whether each daemon and watcher the inventory records is still the process rtsync started. */
export async function readInventoryLiveness(host: Host, inventory: Inventory): Promise<Map<string, boolean>> {
  const entries = await Promise.all([
    ...Object.entries(inventory.daemons).map(async ([name, r]) => [resourceId.daemon(name), await isOurProcess(host, r)] as const),
    ...Object.entries(inventory.watchers).map(async ([name, r]) => [resourceId.watcher(name), await isOurProcess(host, r)] as const),
  ]);
  return new Map(entries);
}

async function readKind<K extends KindName>(kind: K, desired: Desired, ctx: ReadContext): Promise<ActualOf<K>[]> {
  const def = KINDS[kind];
  return Promise.all(desired.resources[kind].map((d) => def.read(d, ctx)));
}

export async function gatherActual(desired: Desired, host: Host): Promise<Actual> {
  const [accounts, found, marked] = await Promise.all([readAccounts(host), readInventoryForRepair(desired.stateDir), readMarkedProcesses(host, desired.stateDir)]);
  const inventory = found.inventory;
  const alive = await readInventoryLiveness(host, inventory);
  const ctx: ReadContext = { host, accounts, inventory, marked };
  const resources = await mapKindsAsync<ActualResources>((kind) => readKind(kind, desired, ctx));
  return { accounts, inventory, alive, marked, resources, isRoot: host.uid === 0, warnings: found.warning === undefined ? [] : [found.warning] };
}
