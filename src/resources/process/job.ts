import type { Host } from "../host.ts";
import { resourceId } from "../ids.ts";
import type { ChangeBase, PlanContext } from "../types.ts";
import { isOurProcess, type ProcessInfo, type RecordedProcess } from "./identity.ts";
import type { MarkedProcess } from "./markers.ts";

// One daemon or watcher job as the machine has it: what the inventory records, whether that
// process still runs, and any other live process marked as this job (started by an apply that was
// killed before it could record it, or left behind by a lost inventory). And the pure decision of
// what to do about it, shared by the daemon and watcher kinds.

export interface JobRecord extends RecordedProcess {
  readonly owner?: string | undefined;
  readonly manifest: string;
  readonly hash: string;
  readonly stoppedAt?: string | undefined;
}

export interface JobView<R extends JobRecord> {
  readonly record?: R;
  /** The recorded process runs (pid 0 is an intent to start that never got its pid). */
  readonly running: boolean;
  /** Live processes marked as this job that the record does not name. */
  readonly unrecorded: readonly MarkedProcess[];
}

export async function readJob<R extends JobRecord>(host: Host, job: string, record: R | undefined, marked: readonly MarkedProcess[]): Promise<JobView<R>> {
  const running = record !== undefined && record.pid > 0 && record.stoppedAt === undefined && (await isOurProcess(host, record));
  const unrecorded = marked.filter((p) => p.marker.job === job && !(running && p.info.pid === record.pid));
  return { ...(record ? { record } : {}), running, unrecorded };
}

/** A process to stop, with what identifies it (it is checked again just before the signal). */
export interface StopTarget {
  readonly pid: number;
  readonly uid?: number | undefined;
  readonly startTime?: number | undefined;
  readonly match: readonly string[];
  /** Why it goes, for the plan's details. */
  readonly why: string;
}

/** What a change of a process kind (daemon, watcher) has beyond ChangeBase. */
export interface JobChangeFields {
  /** start: start it (after stopping `stop`); adopt: record `adopt`; stop: only stop `stop` (and forget it, for a removal). */
  readonly action: "start" | "adopt" | "stop";
  /** Processes to stop first. */
  readonly stop: readonly StopTarget[];
  /** Its name belongs to another manifest in this stateDir: nothing of it may be touched. */
  readonly foreign?: boolean;
  /** A running, unrecorded process of this job to record instead of starting one. */
  readonly adopt?: ProcessInfo;
}

/** The plan's detail lines for the processes a change stops. Pure. */
export const stopDetails = (stop: readonly StopTarget[]): string[] => stop.map((t) => `  stop pid ${t.pid}: ${t.why}`);

/**
 * The change for the decisions every process kind plans alike: blocked, adopt, stop-extra.
 * `label` names the job ("daemon d1"), `others` what else of it runs ("process(es) of this
 * daemon"). Keep and start each kind plans itself. Pure.
 */
export function planJobBookkeeping(
  label: string,
  others: string,
  decision: Extract<JobDecision, { readonly type: "blocked" | "adopt" | "stop-extra" }>,
): Pick<ChangeBase, "op" | "title" | "details" | "blocked"> & JobChangeFields {
  switch (decision.type) {
    case "blocked":
      return { op: "create", title: `${label}: cannot be managed`, details: [], action: "start", stop: [], foreign: true, blocked: decision.reason };
    case "adopt":
      return {
        op: "update",
        title: `${label}: adopt pid ${decision.adopt.pid} (running, but missing from the inventory)`,
        details: stopDetails(decision.stop),
        action: "adopt",
        stop: decision.stop,
        adopt: decision.adopt,
      };
    case "stop-extra":
      return { op: "update", title: `${label}: stop ${decision.stop.length} other ${others}`, details: stopDetails(decision.stop), action: "stop", stop: decision.stop };
  }
}

export type JobDecision =
  | { readonly type: "keep" }
  | { readonly type: "blocked"; readonly reason: string }
  /** Record a running, unrecorded process of this job as its own (no restart). */
  | { readonly type: "adopt"; readonly adopt: ProcessInfo; readonly stop: readonly StopTarget[] }
  /** Start it (stopping what must go first). `restart`: the recorded process runs with another hash. */
  | { readonly type: "start"; readonly restart: boolean; readonly stop: readonly StopTarget[] }
  /** It runs as wanted, but other processes claim the same job: stop them. */
  | { readonly type: "stop-extra"; readonly stop: readonly StopTarget[] };

function ownerLabel(owner: string | undefined, manifest?: string): string {
  const who = owner === undefined || owner === "" ? "the unnamed manifest" : `manifest "${owner}"`;
  return manifest === undefined ? who : `${who} (applied from ${manifest})`;
}

function stopUnrecorded(p: MarkedProcess, why: string): StopTarget {
  return { pid: p.info.pid, uid: p.info.uid, startTime: p.info.startTime, match: [...p.info.argv], why };
}

/**
 * What to do about one desired job, given its view, the hash it should run with, and the owner
 * applying. Pure. Processes of another owner are never touched: the job is blocked instead.
 */
export function decideJob<R extends JobRecord>(view: JobView<R>, wantHash: string, owner: string): JobDecision {
  const r = view.record;
  if (r !== undefined && (r.owner ?? "") !== owner) return { type: "blocked", reason: `the name is already used in this stateDir by ${ownerLabel(r.owner, r.manifest)}` };
  const foreign = view.unrecorded.find((p) => p.marker.owner !== owner);
  if (foreign) return { type: "blocked", reason: `pid ${foreign.info.pid} runs this job for ${ownerLabel(foreign.marker.owner)}` };
  const ours = view.unrecorded;
  if (view.running && r !== undefined) {
    const extras = ours.map((p) => stopUnrecorded(p, `a second process of this job (pid ${p.info.pid}, not in the inventory)`));
    if (r.hash === wantHash) return extras.length > 0 ? { type: "stop-extra", stop: extras } : { type: "keep" };
    return { type: "start", restart: true, stop: [{ pid: r.pid, uid: r.uid, startTime: r.startTime, match: r.match, why: "it runs an older configuration" }, ...extras] };
  }
  const adoptable = ours.find((p) => p.marker.hash === wantHash);
  if (adoptable !== undefined) {
    return {
      type: "adopt",
      adopt: adoptable.info,
      stop: ours.filter((p) => p !== adoptable).map((p) => stopUnrecorded(p, `a second process of this job (pid ${p.info.pid}, not in the inventory)`)),
    };
  }
  return { type: "start", restart: false, stop: ours.map((p) => stopUnrecorded(p, `it runs an older configuration (pid ${p.info.pid}, not in the inventory)`)) };
}

/** Processes of this owner for jobs it no longer declares: recorded ones and unrecorded ones. Pure. */
function pruneTargets<R extends JobRecord>(
  records: Readonly<Record<string, R>>,
  marked: readonly MarkedProcess[],
  prefix: "daemon" | "watcher",
  wanted: ReadonlySet<string>,
  owner: string,
  node: string,
  nodeOf: (r: R) => string,
): Map<string, { record?: R; unrecorded: MarkedProcess[] }> {
  const out = new Map<string, { record?: R; unrecorded: MarkedProcess[] }>();
  for (const [name, r] of Object.entries(records)) {
    if ((r.owner ?? "") === owner && nodeOf(r) === node && !wanted.has(name)) out.set(name, { record: r, unrecorded: [] });
  }
  for (const p of marked) {
    const [kind, name] = [p.marker.job.slice(0, p.marker.job.indexOf(":")), p.marker.job.slice(p.marker.job.indexOf(":") + 1)];
    if (kind !== prefix || p.marker.owner !== owner || wanted.has(name)) continue;
    if (records[name]?.pid === p.info.pid) continue;
    const entry = out.get(name) ?? { unrecorded: [] };
    entry.unrecorded.push(p);
    out.set(name, entry);
  }
  return out;
}

/**
 * The removals of this owner's jobs of one kind that the manifest no longer declares for this
 * node: each stops the recorded process (when it still runs) and every unrecorded one. Pure.
 */
export function planJobRemovals<K extends "daemon" | "watcher", R extends JobRecord & { readonly node: string }>(
  kind: K,
  records: Readonly<Record<string, R>>,
  wanted: ReadonlySet<string>,
  ctx: Pick<PlanContext, "marked" | "owner" | "node" | "alive">,
): Array<ChangeBase & JobChangeFields & { readonly kind: K; readonly name: string }> {
  return [...pruneTargets(records, ctx.marked, kind, wanted, ctx.owner, ctx.node, (r) => r.node)].map(([name, { record: r, unrecorded }]) => {
    const id = resourceId[kind](name);
    const running = r !== undefined && ctx.alive.get(id) === true;
    const stop: StopTarget[] = [
      ...(r && running && r.stoppedAt === undefined ? [{ pid: r.pid, uid: r.uid, startTime: r.startTime, match: r.match, why: "no longer in the manifest" }] : []),
      ...unrecorded.map((p) => stopUnrecorded(p, "no longer in the manifest (not in the inventory)")),
    ];
    const where = r ? `declared by ${r.manifest}` : "started by rtsync";
    return {
      id,
      kind,
      op: "delete" as const,
      name,
      title: `${kind} ${name}: stop${stop.length > 0 ? ` pid ${stop.map((t) => t.pid).join(", ")}` : " (not running)"} (${where}; no longer in the manifest for node ${ctx.node})`,
      details: [],
      dependsOn: [],
      action: "stop" as const,
      stop,
    };
  });
}
