import { stat } from "node:fs/promises";
import { ApplyError, describeErrno, errnoOf } from "../../core/errors.ts";
import type { WatcherRecord } from "../../state/inventory.ts";
import { watchFiles } from "../../state/layout.ts";
import { hashWatchSpec, type WatchSpec } from "../../state/watch-spec.ts";
import { readWatcherStatusResult, type WatcherStatusDoc } from "../../state/watcher-status.ts";
import { readRecordedIdentity } from "../../state/source-identity.ts";
import { resourceId } from "../ids.ts";
import { decideJob, planJobBookkeeping, planJobRemovals, readJob, stopDetails, type JobChangeFields, type JobView, type StopTarget } from "../process/job.ts";
import { readHostStatus } from "../../state/host-jobs.ts";
import { startRecorded, stopTargets } from "../process/lifecycle.ts";
import type { ProcessInfo } from "../process/identity.ts";
import type { ApplyContext, ChangeBase, ResourceBase, ResourceKind } from "../types.ts";
import { ensureWatchHost, handJob, HOST_JOB, hostMatch, isHostRecord, stopAlone, tellHost, waitForHostedJob, withdrawJob } from "./host.ts";
import { buildWatchSpec } from "./spec.ts";

// A watch job, run by the node's watch host (`watcher.js __host STATEDIR`, watch/host/main.ts):
// recorded in the inventory with the host's identity (so "running" means the host runs), started
// by handing it to the host, stopped by withdrawing it; it restarts (inside the host) only when its
// own spec changed. A job still run by a watcher process of its own (`__watch SPEC`, the layout
// before the host) is moved into the host: the host sets the job's watches first and holds its
// runs until that process, stopped then, is gone (never two pushers, no change unwatched), and the
// job's first run is a full sync.

export interface DesiredWatcher extends ResourceBase {
  readonly name: string;
  readonly spec: WatchSpec;
  readonly specFile: string;
  readonly specHash: string;
}

export type WatcherActual = JobView<WatcherRecord> & {
  /** The running watcher, or one of its lanes, halted (its source looked unmounted or emptied, or maxDelete was hit): why. */
  readonly halted?: string;
  /** The watch host runs this job with the wanted spec, but the inventory does not record it (lost, or an apply killed before it recorded the job). */
  readonly hostRuns?: ProcessInfo;
  /** Why the source cannot be watched now (it does not exist, or is not a directory). */
  readonly sourceProblem?: string;
};

export interface WatcherChange extends ChangeBase, JobChangeFields {
  readonly kind: "watcher";
  readonly name: string;
  /** A watcher process that runs this job alone (`__watch`): the host takes the job over from it. */
  readonly handover?: StopTarget;
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

// The source's problem, when it has one: the watcher would start and wait for it. Only observes.
async function withSourceProblem<T extends WatcherActual>(w: DesiredWatcher, have: T): Promise<T> {
  const source = w.spec.source;
  const problem = await stat(source).then(
    (s) => (s.isDirectory() ? undefined : `its source ${source} is not a directory`),
    (e: unknown) => `its source ${source} ${errnoOf(e) === "ENOENT" ? "does not exist" : `cannot be read (${describeErrno(e)})`}`,
  );
  return problem === undefined ? have : { ...have, sourceProblem: problem };
}

// What the operator can do about a missing source.
const sourceFix = "create it, or correct source: (the watcher waits for it and replicates once it is there)";

function record(w: DesiredWatcher, ctx: ApplyContext): Omit<WatcherRecord, "pid" | "uid" | "startTime"> {
  return {
    manifest: ctx.manifest,
    owner: ctx.owner,
    node: ctx.node,
    hash: w.specHash,
    startedAt: ctx.host.now().toISOString(),
    match: hostMatch(ctx.stateDir),
    detail: { specFile: w.specFile, spec: { ...w.spec } },
  };
}

// Stops what a change stops: a job in the host is withdrawn from it (the host runs other jobs),
// a process that runs a job alone is stopped.
async function stopJobs(ctx: ApplyContext, name: string, targets: readonly StopTarget[]): Promise<void> {
  for (const t of targets) {
    if (isHostRecord(t)) await withdrawJob(ctx.stateDir, t.pid, name);
    else await stopTargets(ctx, [t], GRACE_MS);
  }
}

// The change that moves a job run alone by `p` into the host. Pure.
function handoverOf(w: DesiredWatcher, p: StopTarget, extra: readonly StopTarget[]): Pick<WatcherChange, "op" | "title" | "details" | "action" | "stop" | "handover"> {
  return {
    op: "update",
    title: `watcher ${w.name}: move into the watch host (pid ${p.pid} runs it alone; handed over without a gap)`,
    details: stopDetails([p, ...extra]),
    action: "start",
    stop: extra,
    handover: p,
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
    let view = await readJob(host, w.id, inventory.watchers[w.name], marked);
    const r = view.record;
    // The host runs, but runs this job only if its status lists it (jobs.json lost, a withdrawal).
    if (view.running && r !== undefined && isHostRecord(r)) {
      const hosted = (await readHostStatus(r.match[r.match.indexOf("__host") + 1] ?? "").catch(() => undefined))?.jobs[w.name];
      if (hosted === undefined || hosted.state === "stopping") view = { ...view, running: false };
    }
    if (!view.running) {
      // Not recorded as running, but the host of this stateDir (marked) runs it with this spec: adopted, not started twice.
      const hostProc = marked.find((p) => p.marker.job === HOST_JOB && isHostRecord({ match: p.info.argv }));
      const hosted = hostProc === undefined ? undefined : await readHostStatus(hostProc.marker.stateDir).catch(() => undefined);
      const job = hosted?.pid === hostProc?.info.pid ? hosted?.jobs[w.name] : undefined;
      if (hostProc !== undefined && job !== undefined && job.specHash === w.specHash && job.state !== "stopping") return { ...view, hostRuns: hostProc.info };
    }
    const read = view.running ? await readWatcherStatusResult(w.spec.stateDir) : { ok: true as const, doc: undefined };
    const report = read.ok ? read.doc : undefined;
    const recorded = (await readRecordedIdentity(w.spec.stateDir).catch(() => undefined)) !== undefined;
    // A status that cannot be read may hide a halt: restarted (the new start writes it afresh), never taken as not halted.
    const halted = !read.ok ? `its status cannot be read: ${read.error}` : report !== undefined && report.pid === view.record?.pid ? haltedOf(report, recorded) : undefined;
    return withSourceProblem(w, halted === undefined ? view : { ...view, halted });
  },

  plan: (w, have, ctx) => {
    const base = { id: w.id, kind: "watcher" as const, name: w.name, want: w, dependsOn: w.dependsOn };
    const decision = decideJob(have, w.specHash, ctx.owner);
    switch (decision.type) {
      case "keep": {
        const r = have.record;
        if (r !== undefined && !isHostRecord(r)) return { ...base, ...handoverOf(w, { pid: r.pid, uid: r.uid, startTime: r.startTime, match: r.match, why: "it ran the job alone" }, []) };
        // A running watcher whose source is missing waits for it: drift apply cannot repair.
        if (have.halted === undefined && have.sourceProblem !== undefined && r !== undefined) {
          return { ...base, op: "update", title: `watcher ${w.name}: waiting for its source (pid ${r.pid})`, details: [], action: "start", stop: [], blocked: `${have.sourceProblem}: ${sourceFix}` };
        }
        // A halted watcher runs no rsync until it is started again: apply does that, and the new
        // watcher checks its source afresh (it halts again if the source is still not right).
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
      case "adopt":
        // A watcher process of this job that the inventory lost: the host takes the job from it.
        if (!isHostRecord({ match: decision.adopt.argv })) return { ...base, ...handoverOf(w, { ...decision.adopt, match: [...decision.adopt.argv], why: "it ran the job alone" }, decision.stop) };
        return { ...base, ...planJobBookkeeping(`watcher ${w.name}`, "watcher(s) of this job", decision) };
      case "blocked":
      case "stop-extra":
        return { ...base, ...planJobBookkeeping(`watcher ${w.name}`, "watcher(s) of this job", decision) };
      case "start": {
        const hostRuns = have.hostRuns;
        if (!decision.restart && hostRuns !== undefined && decision.stop.length === 0) {
          return {
            ...base,
            op: "update",
            title: `watcher ${w.name}: adopt pid ${hostRuns.pid} (running, but missing from the inventory)`,
            details: [],
            action: "adopt",
            stop: [],
            adopt: hostRuns,
          };
        }
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
        const waits = have.sourceProblem === undefined ? [] : [`! ${have.sourceProblem}: ${sourceFix}`];
        return { ...base, op: "create", title: `watcher ${w.name}: start watching ${w.spec.source} -> ${targetsText(w.spec)}${why}`, details: [...waits, ...stopDetails(decision.stop)], action: "start", stop: decision.stop };
      }
    }
  },

  // The host's start (a Node process) overlaps with the changes applied before the first watcher's.
  prepare: (changes, ctx) => {
    const first = changes.find((c) => c.action === "start" && c.want !== undefined);
    if (first?.want !== undefined) void ensureWatchHost(ctx.host, { stateDir: ctx.stateDir, selfCommand: ctx.selfCommand, env: ctx.env, watcher: first.want.spec.watcher }).catch(() => undefined);
  },

  prune: (desired, ctx) => planJobRemovals("watcher", ctx.inventory.watchers, new Set(desired.map((w) => w.name)), ctx),

  apply: async (c, ctx) => {
    const w = c.want;
    if (c.action === "stop" || w === undefined) {
      await stopJobs(ctx, c.name, c.stop);
      if (c.op === "delete") await ctx.updateInventory((inv) => void delete inv.watchers[c.name]);
      return {};
    }
    const base = record(w, ctx);
    if (c.action === "adopt" && c.adopt !== undefined) {
      await stopJobs(ctx, c.name, c.stop);
      const { pid, uid, startTime } = c.adopt;
      await ctx.updateInventory((inv) => void (inv.watchers[w.name] = { ...base, pid, uid, startTime }));
      return { pid };
    }
    let problem: string | undefined;
    // The host's own record among what to stop is this job in the host: handing it the new spec
    // restarts the job in place. Anything else (a second process of the job) goes first.
    const others = c.stop.filter((t) => !isHostRecord(t));
    const pid = await startRecorded(
      ctx,
      { put: (inv, identity) => void (inv.watchers[w.name] = { ...base, ...identity }), remove: (inv) => void delete inv.watchers[w.name], graceMs: GRACE_MS },
      others,
      async () => {
        const job = { name: w.name, specHash: w.specHash, watchDir: w.spec.stateDir, restarted: c.stop.some(isHostRecord) };
        const alone = c.handover;
        // The list first: a host started now runs what it lists, and exits on an empty one.
        await handJob(ctx.stateDir, w.name, {
          specFile: w.specFile,
          specHash: w.specHash,
          owner: ctx.owner,
          // Its own record among what to stop: restart it in the host even with the same spec (a halt).
          ...(c.stop.some(isHostRecord) ? { restart: ctx.host.now().toISOString() } : {}),
          ...(alone === undefined ? {} : { after: { pid: alone.pid, ...(alone.startTime === undefined ? {} : { startTime: alone.startTime }) } }),
        });
        const hostInfo = await ensureWatchHost(ctx.host, { stateDir: ctx.stateDir, selfCommand: ctx.selfCommand, env: ctx.env, watcher: w.spec.watcher });
        tellHost(hostInfo.pid);
        if (alone !== undefined) {
          // Watches set in the host first, then the process that ran the job alone stops
          // (flushing what it has pending); the host's runs start once it is gone.
          await waitForHostedJob(ctx.stateDir, hostInfo.pid, job, "held");
          await stopAlone(ctx.host, alone);
        }
        problem = (await waitForHostedJob(ctx.stateDir, hostInfo.pid, job, "watching")).problem;
        return hostInfo.pid;
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
    ...(c.handover ? { handover: c.handover.pid } : {}),
    ...(c.stop.length > 0 ? { stop: c.stop.map((t) => t.pid) } : {}),
    ...(c.changedKeys ? { changedKeys: c.changedKeys } : {}),
  }),
};
