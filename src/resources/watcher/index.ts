import { ApplyError } from "../../core/errors.ts";
import type { WatcherRecord } from "../../state/inventory.ts";
import { watchFiles } from "../../state/layout.ts";
import { hashWatchSpec, type WatchSpec } from "../../state/watch-spec.ts";
import { readWatcherStatus, type WatcherStatusDoc } from "../../state/watcher-status.ts";
import { readRecordedIdentity } from "../../state/source-identity.ts";
import { resourceId } from "../ids.ts";
import { decideJob, planJobBookkeeping, planJobRemovals, readJob, stopDetails, type JobChangeFields, type JobView } from "../process/job.ts";
import { startRecorded, stopTargets } from "../process/lifecycle.ts";
import { buildChildEnv } from "../process/markers.ts";
import type { ApplyContext, ChangeBase, ResourceBase, ResourceKind } from "../types.ts";
import { buildWatchSpec } from "./spec.ts";
import { startWatcher } from "./start.ts";

// A watcher process (`watcher.js __watch SPEC`) rtsync starts and owns (recorded in the inventory,
// marked in its environment). It restarts only when its own spec changed.

export interface DesiredWatcher extends ResourceBase {
  readonly name: string;
  readonly spec: WatchSpec;
  readonly specFile: string;
  readonly specHash: string;
}

export type WatcherActual = JobView<WatcherRecord> & {
  /** The running watcher, or one of its lanes, halted (its source looked unmounted or emptied, or maxDelete was hit): why. */
  readonly halted?: string;
};

export interface WatcherChange extends ChangeBase, JobChangeFields {
  readonly kind: "watcher";
  readonly name: string;
  /** What to start (absent when the watcher is only stopped). */
  readonly want?: DesiredWatcher;
  /** The spec keys that differ from what the running watcher was started with. */
  readonly changedKeys?: readonly string[];
}

// 15 s: a watcher finishes the run in flight and flushes what is pending before it exits.
const GRACE_MS = 15_000;

function changedKeys(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}


// `rsync://…/data`, or `rsync://…/data, /srv/copy` for a watch with several targets.
const targetsText = (spec: WatchSpec): string => spec.targets.map((t) => t.target).join(", ");

// Why a running watcher, or one of its lanes, halted (apply restarts it), or undefined. Not a
// halt because the source root changed while its record stands: the watcher resumes by itself
// once the recorded root is back, and a new one would compare with the same record (a restart
// only hides it for a moment). Once `--accept-source` removed the record, it is restarted.
function haltedOf(report: WatcherStatusDoc, recorded: boolean): string | undefined {
  const restarts = (reason: string | undefined): boolean => reason !== "source-changed" || !recorded;
  if (report.state === "halted") return restarts(report.halted?.reason) ? (report.halted?.message.split("; ")[0] ?? "halted") : undefined;
  const lane = report.targets?.find((l) => l.halted !== null && restarts(l.halted.reason));
  return lane?.halted ? `target ${lane.url}: ${lane.halted.message.split("; ")[0] ?? lane.halted.reason}` : undefined;
}

function record(w: DesiredWatcher, ctx: ApplyContext): Omit<WatcherRecord, "pid" | "uid" | "startTime"> {
  return {
    manifest: ctx.manifest,
    owner: ctx.owner,
    node: ctx.node,
    hash: w.specHash,
    startedAt: ctx.host.now().toISOString(),
    match: ["__watch", w.specFile],
    detail: { specFile: w.specFile, spec: { ...w.spec } },
  };
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
        dependsOn: [resourceId.file(specFile), ...new Set(spec.targets.flatMap((t) => (t.passwordFile ? [resourceId.file(t.passwordFile)] : [])))],
      };
    }),

  read: async (w, { host, inventory, marked }) => {
    const view = await readJob(host, w.id, inventory.watchers[w.name], marked);
    const report = view.running ? await readWatcherStatus(w.spec.stateDir).catch(() => undefined) : undefined;
    const recorded = (await readRecordedIdentity(w.spec.stateDir).catch(() => undefined)) !== undefined;
    const halted = report !== undefined && report.pid === view.record?.pid ? haltedOf(report, recorded) : undefined;
    return halted === undefined ? view : { ...view, halted };
  },

  plan: (w, have, ctx) => {
    const base = { id: w.id, kind: "watcher" as const, name: w.name, want: w, dependsOn: w.dependsOn };
    const decision = decideJob(have, w.specHash, ctx.owner);
    switch (decision.type) {
      case "keep": {
        // A halted watcher runs no rsync until it is started again: apply does that, and the new
        // watcher checks its source afresh (it halts again if the source is still not right).
        const r = have.record;
        if (have.halted === undefined || r === undefined) return undefined;
        return {
          ...base,
          op: "update",
          title: `watcher ${w.name}: restart (halted: ${have.halted}; pid ${r.pid})`,
          details: [],
          action: "start",
          stop: [{ pid: r.pid, uid: r.uid, startTime: r.startTime, match: r.match, why: "it halted" }],
        };
      }
      case "blocked":
      case "adopt":
      case "stop-extra":
        return { ...base, ...planJobBookkeeping(`watcher ${w.name}`, "watcher(s) of this job", decision) };
      case "start": {
        if (decision.restart && have.record) {
          const keys = changedKeys(have.record.detail.spec, w.spec);
          return {
            ...base,
            op: "update",
            title: `watcher ${w.name}: restart (spec changed: ${keys.join(", ") || "unknown"}; pid ${have.record.pid})`,
            details: [],
            action: "start",
            stop: decision.stop,
            changedKeys: keys,
          };
        }
        const why = have.record?.stoppedAt !== undefined ? ` (stopped by \`rtsync down\` at ${have.record.stoppedAt})` : have.record && have.record.pid > 0 ? ` (not running: pid ${have.record.pid} is gone)` : "";
        return { ...base, op: "create", title: `watcher ${w.name}: start watching ${w.spec.source} -> ${targetsText(w.spec)}${why}`, details: stopDetails(decision.stop), action: "start", stop: decision.stop };
      }
    }
  },

  prune: (desired, ctx) => planJobRemovals("watcher", ctx.inventory.watchers, new Set(desired.map((w) => w.name)), ctx),

  apply: async (c, ctx) => {
    const w = c.want;
    if (c.action === "stop" || w === undefined) {
      await stopTargets(ctx, c.stop, GRACE_MS);
      if (c.op === "delete") await ctx.updateInventory((inv) => void delete inv.watchers[c.name]);
      return {};
    }
    const base = record(w, ctx);
    if (c.action === "adopt" && c.adopt !== undefined) {
      await stopTargets(ctx, c.stop, GRACE_MS);
      const { pid, uid, startTime } = c.adopt;
      await ctx.updateInventory((inv) => void (inv.watchers[w.name] = { ...base, pid, uid, startTime }));
      return { pid };
    }
    const env = buildChildEnv({ stateDir: ctx.stateDir, owner: ctx.owner, job: w.id, hash: w.specHash }, ctx.env);
    let problem: string | undefined;
    const pid = await startRecorded(
      ctx,
      { put: (inv, identity) => void (inv.watchers[w.name] = { ...base, ...identity }), remove: (inv) => void delete inv.watchers[w.name], graceMs: GRACE_MS },
      c.stop,
      async () => {
        const started = await startWatcher({ specFile: w.specFile, watchDir: w.spec.stateDir, watcher: w.spec.watcher, env }, ctx.selfCommand);
        problem = started.problem;
        return started.pid;
      },
    );
    // Recorded (it runs and retries), but not done: it does not watch what it should.
    if (problem !== undefined) throw new ApplyError(problem);
    return { pid };
  },

  describe: (c) => ({
    name: c.name,
    ...(c.want ? { source: c.want.spec.source, target: c.want.spec.targets[0]?.target ?? "", targets: c.want.spec.targets.map((t) => t.target) } : {}),
    ...(c.adopt ? { adopt: c.adopt.pid } : {}),
    ...(c.stop.length > 0 ? { stop: c.stop.map((t) => t.pid) } : {}),
    ...(c.changedKeys ? { changedKeys: c.changedKeys } : {}),
  }),
};
