import { messageOf } from "../core/errors.ts";
import type { NodeMatch } from "../manifest/node-match.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import { assessHealth, planDrift, type AgentView, type Drift, type NodeHealthReport } from "../resources/health.ts";
import type { Host } from "../resources/host.ts";
import type { NodeStatus } from "../resources/node-status.ts";
import { isOurProcess } from "../resources/process/identity.ts";
import { readAgentPids } from "../resources/process/markers.ts";
import { readAppliedRevision, type AppliedRevision } from "../state/agent-revision.ts";
import { readAgentStatus, type AgentStatusDoc } from "../state/agent-status.ts";
import { gatherPlan } from "./converge.ts";

// What `rtsync status` adds to the processes it lists: the sync status and health of the node
// (resources/health.ts), from a fresh plan, and what a running agent recorded (the revision it
// applied, what it refused, what crash-loops). Only observes.

async function readDrift(m: ResolvedManifest, host: Host, env: Readonly<Record<string, string | undefined>>): Promise<Drift> {
  try {
    return planDrift((await gatherPlan(m, host, env)).plan);
  } catch (e) {
    return { known: false, reason: messageOf(e) };
  }
}

// The agent's own view counts only while it runs, and only for this node.
function agentView(doc: AgentStatusDoc | undefined, running: boolean, node: string): AgentView | undefined {
  if (doc === undefined || !running || doc.node !== node) return undefined;
  return {
    crashLooping: doc.crashLooping,
    refused: doc.refused ? { revision: doc.refused.revision, issues: doc.refused.issues.map((i) => (i.line === 0 ? i.message : `${i.file}:${i.line}:${i.col}: ${i.message}`)) } : null,
  };
}

// The applied text stays in its 0600 document: it may hold an inline password.
function withoutText({ text: _text, ...shown }: AppliedRevision): AppliedRevision {
  return shown;
}

export async function gatherNodeHealth(m: ResolvedManifest, status: NodeStatus, nodeMatch: NodeMatch, host: Host, env: Readonly<Record<string, string | undefined>>): Promise<NodeHealthReport> {
  const [drift, doc, revision] = await Promise.all([
    readDrift(m, host, env),
    readAgentStatus(m.stateDir).catch(() => undefined),
    readAppliedRevision(m.stateDir).catch(() => undefined),
  ]);
  const running = doc !== undefined && (await isOurProcess(host, { pid: doc.pid, match: ["agent"] }));
  const agent = agentView(doc, running, m.node);
  const otherPids = running ? [] : readAgentPids(host, m.stateDir);
  return {
    health: assessHealth({ status, drift, nodeMatch, ...(agent ? { agent } : {}) }),
    ...(revision && revision.node === m.node ? { revision: withoutText(revision) } : {}),
    ...(doc
      ? { agent: { pid: doc.pid, running, ...(otherPids.length > 0 ? { otherPids } : {}), startedAt: doc.startedAt, lastReconcile: doc.lastReconcile } }
      : otherPids.length > 0
        ? { agent: { running: false, otherPids } } // runs, has written nothing here yet
        : {}),
  };
}
