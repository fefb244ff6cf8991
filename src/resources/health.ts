import type { NodeMatch } from "../manifest/node-match.ts";
import type { AppliedRevision } from "../state/agent-revision.ts";
import type { AgentStatusDoc } from "../state/agent-status.ts";
import { unmatchedNodeMessage } from "../manifest/node-match.ts";
import { assessWatcherHealth } from "../state/watcher-health.ts";
import type { Change } from "./kinds.ts";
import type { DaemonStatus, NodeStatus, WatcherStatus } from "./node-status.ts";
import type { Plan } from "./plan-types.ts";

// One health vocabulary for `rtsync status`, the agent's /healthz and its metrics, as operators of
// Argo CD and Flux read it. Two questions, asked of every daemon and watcher and of the node:
//
// - sync: does the machine match the manifest? Synced | OutOfSync | Unknown (it cannot be told:
//   no plan, or the desired content needs a password this process cannot read);
// - health: does what runs work? Healthy | Progressing (starting, initial sync) | Missing (not
//   running) | Degraded (running but failing, crash-looping, or a node-level problem).
//
// Pure: everything comes in as data.

export type SyncStatus = "Synced" | "OutOfSync" | "Unknown";
export type HealthStatus = "Healthy" | "Progressing" | "Missing" | "Degraded";

/** What a plan says about drift: which resources differ, and which cannot be compared here. */
export type Drift =
  | { readonly known: true; readonly outOfSync: readonly string[]; readonly unknown: readonly string[] }
  | { readonly known: false; readonly reason: string };

/** What only a running agent knows (undefined when none runs). */
export interface AgentView {
  readonly crashLooping: ReadonlyArray<{ readonly id: string; readonly deaths: number; readonly nextRestartAt: string | null }>;
  readonly refused: { readonly revision: string; readonly issues: readonly string[] } | null;
}

export interface ResourceHealth {
  readonly id: string;
  readonly sync: SyncStatus;
  readonly health: HealthStatus;
  readonly problem?: string;
}

export interface Problem {
  /** The resource id (`watcher:push`), absent for a problem of the node. */
  readonly resource?: string;
  readonly message: string;
}

export interface NodeHealth {
  readonly sync: SyncStatus;
  readonly health: HealthStatus;
  /** Nothing is Missing or Degraded (`rtsync status` exits 0). */
  readonly healthy: boolean;
  /** Synced and Healthy: what /healthz answers 200 for. */
  readonly converged: boolean;
  readonly problems: readonly Problem[];
  readonly daemons: readonly ResourceHealth[];
  readonly watchers: readonly ResourceHealth[];
}

/** What `rtsync status` shows of the agent that runs (or ran) on this stateDir. */
export interface AgentSummary {
  /** The agent recorded in the stateDir; absent when no agent has written its status there yet. */
  readonly pid?: number;
  readonly running: boolean;
  /**
   * Other `rtsync agent` processes on this machine, when the recorded one is gone: an agent that
   * runs but could not write its status document yet (it retries) is not "not running".
   */
  readonly otherPids?: readonly number[];
  readonly startedAt?: string;
  readonly lastReconcile?: AgentStatusDoc["lastReconcile"];
}

/** The node's health with the revision the agent applied and the agent itself, for `rtsync status`. */
export interface NodeHealthReport {
  readonly health: NodeHealth;
  readonly revision?: AppliedRevision;
  readonly agent?: AgentSummary;
}

export interface HealthInputs {
  readonly status: NodeStatus;
  readonly drift: Drift;
  readonly nodeMatch: NodeMatch;
  readonly agent?: AgentView;
}

const RANK: Readonly<Record<HealthStatus, number>> = { Healthy: 0, Progressing: 1, Missing: 2, Degraded: 3 };

function worst(all: readonly HealthStatus[]): HealthStatus {
  return all.reduce<HealthStatus>((w, h) => (RANK[h] > RANK[w] ? h : w), "Healthy");
}

// A change whose desired content could not be built here (a password this process cannot read):
// the machine may well match the manifest, this process just cannot tell.
function undecidable(c: Change): boolean {
  return c.kind === "file" && !c.want.content.ok;
}

/** The drift a plan shows. */
export function planDrift(plan: Plan): Drift {
  return {
    known: true,
    outOfSync: plan.changes.filter((c) => !undecidable(c)).map((c) => c.id),
    unknown: plan.changes.filter(undecidable).map((c) => c.id),
  };
}

function syncOf(id: string, running: boolean, drift: Drift): SyncStatus {
  if (!drift.known) return "Unknown";
  if (!running || drift.outOfSync.includes(id)) return "OutOfSync";
  return drift.unknown.includes(id) ? "Unknown" : "Synced";
}

function crashLoopProblem(agent: AgentView | undefined, id: string): string | undefined {
  const loop = agent?.crashLooping.find((c) => c.id === id);
  if (loop === undefined) return undefined;
  const next = loop.nextRestartAt === null ? "" : `; started again at ${loop.nextRestartAt}`;
  return `crash-looping: failed ${loop.deaths} times in a row soon after starting${next}`;
}

function daemonHealth(d: DaemonStatus, inputs: HealthInputs): ResourceHealth {
  const id = `daemon:${d.name}`;
  const sync = syncOf(id, d.running, inputs.drift);
  const loop = crashLoopProblem(inputs.agent, id);
  if (loop) return { id, sync, health: "Degraded", problem: loop };
  if (!d.running) return { id, sync, health: "Missing", ...(d.problem ? { problem: d.problem } : {}) };
  if (d.responding === false) return { id, sync, health: "Degraded", ...(d.problem ? { problem: d.problem } : {}) };
  return { id, sync, health: "Healthy" };
}

function watcherHealth(w: WatcherStatus, inputs: HealthInputs): ResourceHealth {
  const id = `watcher:${w.name}`;
  const sync = syncOf(id, w.running, inputs.drift);
  const loop = crashLoopProblem(inputs.agent, id);
  if (loop) return { id, sync, health: "Degraded", problem: loop };
  if (!w.running) return { id, sync, health: "Missing", ...(w.problem ? { problem: w.problem } : {}) };
  if (w.problem) return { id, sync, health: "Degraded", problem: w.problem };
  // What its document says (state/watcher-health.ts, as `rtsync status` decided the problem above).
  const { health, problem } = assessWatcherHealth(w.report);
  return { id, sync, health, ...(problem === undefined ? {} : { problem }) };
}

/** The node's sync status and health, and each problem in one sentence. */
export function assessHealth(inputs: HealthInputs): NodeHealth {
  const daemons = inputs.status.daemons.map((d) => daemonHealth(d, inputs));
  const watchers = inputs.status.watchers.map((w) => watcherHealth(w, inputs));
  const resources = [...daemons, ...watchers];
  const nodeProblems: Problem[] = [];
  if (!inputs.nodeMatch.matched) nodeProblems.push({ message: unmatchedNodeMessage(inputs.status.node, inputs.nodeMatch.known) });
  const refused = inputs.agent?.refused;
  if (refused) nodeProblems.push({ message: `manifest revision ${refused.revision} was refused (the agent keeps running the last one it applied): ${refused.issues.join("; ")}` });
  if (!inputs.drift.known) nodeProblems.push({ message: `sync status unknown: ${inputs.drift.reason}` });
  const drift = inputs.drift;
  const sync: SyncStatus = !drift.known
    ? "Unknown"
    : refused || drift.outOfSync.length > 0 || resources.some((r) => r.sync === "OutOfSync")
      ? "OutOfSync"
      : drift.unknown.length > 0
        ? "Unknown"
        : "Synced";
  const nodeDegraded = !inputs.nodeMatch.matched || refused !== undefined && refused !== null;
  const health = worst([...resources.map((r) => r.health), ...(nodeDegraded ? (["Degraded"] as const) : [])]);
  const problems = [
    ...nodeProblems,
    ...resources.flatMap((r) => (r.problem ? [{ resource: r.id, message: r.problem }] : [])),
    ...(drift.known ? drift.outOfSync.filter((id) => !resources.some((r) => r.id === id)).map((id) => ({ resource: id, message: "differs from the manifest" })) : []),
  ];
  return {
    sync,
    health,
    healthy: RANK[health] <= RANK.Progressing,
    converged: sync === "Synced" && health === "Healthy" && problems.length === 0,
    problems,
    daemons,
    watchers,
  };
}
