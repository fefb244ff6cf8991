import type { WatcherRecord } from "../../state/inventory.ts";
import { watchFiles } from "../../state/layout.ts";
import { hashWatchSpec, type WatchSpec } from "../../state/watch-spec.ts";
import { readWatcherStatus } from "../../state/watcher-status.ts";
import { resourceId } from "../ids.ts";
import { isOurProcess, stopProcess } from "../process/identity.ts";
import { recordOrStop } from "../process/record.ts";
import type { ChangeBase, PlanContext, ResourceBase, ResourceKind } from "../types.ts";
import { buildWatchSpec } from "./spec.ts";
import { startWatcher } from "./start.ts";

// A watcher process (`rtsync __watch SPEC`) rtsync starts and owns (recorded in the inventory).
// It restarts only when its own spec changed.

export interface DesiredWatcher extends ResourceBase {
  readonly name: string;
  readonly spec: WatchSpec;
  readonly specFile: string;
  readonly specHash: string;
}

export interface WatcherActual {
  readonly record?: WatcherRecord;
  readonly running: boolean;
  /** The running watcher halted (its source looked unmounted or emptied, or maxDelete was hit): why. */
  readonly halted?: string;
}

export interface WatcherChange extends ChangeBase {
  readonly kind: "watcher";
  readonly name: string;
  /** What to start (absent when the watcher is only stopped). */
  readonly want?: DesiredWatcher;
  /** The process to stop first. */
  readonly previous?: { readonly pid: number; readonly running: boolean };
  /** The spec keys that differ from what the running watcher was started with. */
  readonly changedKeys?: readonly string[];
}

// 15 s: a watcher finishes the run in flight and flushes what is pending before it exits.
const GRACE_MS = 15_000;

function changedKeys(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

function foreignOwner(record: WatcherRecord | undefined, ctx: PlanContext): string | undefined {
  return record && record.manifest !== ctx.manifest ? `the name is already used in this stateDir by ${record.manifest}` : undefined;
}

export const watcherKind: ResourceKind<DesiredWatcher, WatcherActual, WatcherChange> = {
  build: (m, inputs) =>
    m.watches.map((w) => {
      const spec = buildWatchSpec(w, inputs.tools);
      const specFile = watchFiles.spec(w.dir);
      return {
        id: resourceId.watcher(w.name),
        name: w.name,
        spec,
        specFile,
        specHash: hashWatchSpec(spec),
        dependsOn: [resourceId.file(specFile), ...(spec.passwordFile ? [resourceId.file(spec.passwordFile)] : [])],
      };
    }),

  read: async (w, { host, inventory }) => {
    const record = inventory.watchers[w.name];
    const running = record !== undefined && (await isOurProcess(host, record.pid, record.match));
    const report = running ? await readWatcherStatus(w.spec.stateDir).catch(() => undefined) : undefined;
    const halted = report?.pid === record?.pid && report?.state === "halted" ? (report.halted?.message.split("; ")[0] ?? "halted") : undefined;
    return { ...(record ? { record } : {}), running, ...(halted === undefined ? {} : { halted }) };
  },

  plan: (w, have, ctx) => {
    const base = { id: w.id, kind: "watcher" as const, name: w.name, want: w, dependsOn: w.dependsOn, details: [] };
    const other = foreignOwner(have.record, ctx);
    if (other) return { ...base, op: "create", title: `watcher ${w.name}: cannot be managed`, blocked: other };
    // A halted watcher runs no rsync until it is started again: apply does that, and the new
    // watcher checks its source afresh (it halts again if the source is still not right).
    if (have.running && have.record?.hash === w.specHash && have.halted !== undefined) {
      return { ...base, op: "update", title: `watcher ${w.name}: restart (halted: ${have.halted}; pid ${have.record.pid})`, previous: { pid: have.record.pid, running: true } };
    }
    if (have.running && have.record?.hash === w.specHash) return undefined;
    if (have.running && have.record) {
      const keys = changedKeys(have.record.detail.spec, w.spec);
      return {
        ...base,
        op: "update",
        title: `watcher ${w.name}: restart (spec changed: ${keys.join(", ") || "unknown"}; pid ${have.record.pid})`,
        previous: { pid: have.record.pid, running: true },
        changedKeys: keys,
      };
    }
    const why = have.record ? ` (not running: pid ${have.record.pid} is gone)` : "";
    return { ...base, op: "create", title: `watcher ${w.name}: start watching ${w.spec.source} -> ${w.spec.target}${why}` };
  },

  prune: (desired, ctx) => {
    const want = new Set(desired.map((w) => w.name));
    return Object.entries(ctx.inventory.watchers)
      .filter(([name, r]) => r.manifest === ctx.manifest && r.node === ctx.node && !want.has(name))
      .map(([name, r]) => {
        const running = ctx.alive.get(resourceId.watcher(name)) === true;
        return {
          id: resourceId.watcher(name),
          kind: "watcher" as const,
          op: "delete" as const,
          name,
          title: `watcher ${name}: stop${running ? ` pid ${r.pid}` : " (not running)"} (no longer in the manifest for node ${ctx.node})`,
          details: [],
          dependsOn: [],
          previous: { pid: r.pid, running },
        };
      });
  },

  apply: async (c, ctx) => {
    if (c.previous?.running === true) await stopProcess(c.previous.pid, GRACE_MS);
    const w = c.want;
    if (c.op === "delete" || w === undefined) {
      await ctx.updateInventory((inv) => void delete inv.watchers[c.name]);
      return {};
    }
    const pid = await startWatcher({ specFile: w.specFile, watchDir: w.spec.stateDir, watcher: w.spec.watcher }, ctx.selfCommand);
    await recordOrStop(ctx, pid, GRACE_MS, (inv) => {
      inv.watchers[w.name] = {
        manifest: ctx.manifest,
        node: ctx.node,
        pid,
        hash: w.specHash,
        startedAt: ctx.host.now().toISOString(),
        match: ["__watch", w.specFile],
        detail: { specFile: w.specFile, spec: { ...w.spec } },
      };
    });
    return { pid };
  },

  describe: (c) => ({
    name: c.name,
    ...(c.want ? { source: c.want.spec.source, target: c.want.spec.target } : {}),
    ...(c.previous ? { pid: c.previous.pid, running: c.previous.running } : {}),
    ...(c.changedKeys ? { changedKeys: c.changedKeys } : {}),
  }),
};
