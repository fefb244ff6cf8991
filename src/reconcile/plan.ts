import { KIND_ORDER, KINDS, type Change, type ChangeOf, type KindName } from "../resources/kinds.ts";
import type { Plan } from "../resources/plan-types.ts";
import type { PlanContext } from "../resources/types.ts";
import type { Desired } from "./desired.ts";
import type { Actual } from "./gather.ts";

// (Desired, Actual) -> Plan. Pure: no I/O, no clock. An empty `changes` means converged. The
// changes come in apply order (the kinds' order in the registry); removals of processes the
// manifest no longer declares (prune) come last, watchers before the daemons they push to.

function planKind<K extends KindName>(kind: K, desired: Desired, actual: Actual, ctx: PlanContext): { changes: ChangeOf<K>[]; unchanged: string[] } {
  const def = KINDS[kind];
  const have = actual.resources[kind];
  const changes: ChangeOf<K>[] = [];
  const unchanged: string[] = [];
  desired.resources[kind].forEach((want, i) => {
    const a = have[i];
    const change = a === undefined ? undefined : def.plan(want, a, ctx);
    if (change) changes.push(change);
    else unchanged.push(want.id);
  });
  return { changes, unchanged };
}

function noticesOf<K extends KindName>(kind: K, desired: Desired, actual: Actual): string[] {
  const def = KINDS[kind];
  if (def.notice === undefined) return [];
  const notice = def.notice;
  return desired.resources[kind].flatMap((want, i) => {
    const a = actual.resources[kind][i];
    const text = a === undefined ? undefined : notice(want, a);
    return text === undefined ? [] : [text];
  });
}

function pruneKind<K extends KindName>(kind: K, desired: Desired, ctx: PlanContext): readonly ChangeOf<K>[] {
  return KINDS[kind].prune?.(desired.resources[kind], ctx) ?? [];
}

export function buildPlanContext(desired: Desired, actual: Actual): PlanContext {
  return {
    manifest: desired.manifest,
    owner: desired.owner,
    node: desired.node,
    isRoot: actual.isRoot,
    accounts: actual.accounts,
    creates: {
      users: new Set(desired.resources.account.map((a) => a.name)),
      groups: new Set(desired.resources.group.map((g) => g.name)),
    },
    inventory: actual.inventory,
    alive: actual.alive,
    marked: actual.marked,
  };
}

// A daemon or watcher that cannot be managed (its name belongs to another manifest) must not have
// its files and directories written either: they are the other manifest's (the same default
// rsyncd.conf path, the same spec file) until it lets go of the name.
function blockDependencies(changes: readonly Change[]): Change[] {
  const blockedBy = new Map<string, string>();
  for (const c of changes) {
    if ((c.kind === "daemon" || c.kind === "watcher") && c.foreign === true) {
      for (const dep of c.dependsOn) if (dep.startsWith("file:") || dep.startsWith("directory:")) blockedBy.set(dep, `${c.kind} ${c.name}`);
    }
  }
  return changes.map((c) => {
    const owner = blockedBy.get(c.id);
    return owner === undefined || c.blocked !== undefined ? c : { ...c, blocked: `it belongs to ${owner}, which cannot be managed` };
  });
}

export function planChanges(desired: Desired, actual: Actual): Plan {
  const ctx = buildPlanContext(desired, actual);
  const changes: Change[] = [];
  const unchanged: string[] = [];
  for (const kind of KIND_ORDER) {
    const planned = planKind(kind, desired, actual, ctx);
    changes.push(...planned.changes);
    unchanged.push(...planned.unchanged);
  }
  for (const kind of [...KIND_ORDER].reverse()) changes.push(...pruneKind(kind, desired, ctx));
  const warnings = [...actual.warnings, ...KIND_ORDER.flatMap((kind) => noticesOf(kind, desired, actual))];
  return { manifest: desired.manifest, node: desired.node, changes: blockDependencies(changes), unchanged, warnings };
}
