import pc from "picocolors";
import type { AgentSummary, NodeHealthReport, ResourceHealth } from "../resources/health.ts";
import type { NodeStatus, WatcherStatus } from "../resources/node-status.ts";
import type { LaneStatus, RunRecord, WatcherStatusDoc } from "../state/watcher-status.ts";
import { pendingText } from "../state/unwatched.ts";
import { progressFigures } from "./progress-text.ts";
import { unwatchedLines } from "./unwatched-text.ts";

// `rtsync status` as text. Pure: `now` comes in, so ages are testable.

export function ago(iso: string, now: Date): string | undefined {
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  const s = Math.round(Math.abs(ms) / 1000);
  const m = Math.round(s / 60); // 59m50s reads "1h", not "60m"
  const text = s < 60 ? `${s}s` : m < 60 ? `${m}m` : `${Math.round(s / 3600)}h`;
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

const count = (n: number): string => n.toLocaleString("en-US");

function runResult(run: RunRecord): string {
  if (run.ok) return "ok";
  switch (run.outcome) {
    case "auth":
      return `authentication failed (rsync exit ${run.exitCode})`;
    case "max-delete":
      return `stopped deleting at maxDelete (rsync exit ${run.exitCode})`;
    default:
      return `failed (rsync exit ${run.exitCode})`;
  }
}

function runLine(label: string, run: RunRecord | null, now: Date): string | undefined {
  if (run === null) return undefined;
  // A full sync's record from this version counts files sent and deleted; older ones said 0 paths.
  const what =
    run.kind === "full" && run.deleted !== undefined
      ? `${count(run.paths)} files sent${run.deleted === null ? "" : `, ${count(run.deleted)} deleted`}${run.repaired ? `, ${count(run.repaired)} repaired (the events never reported them)` : ""}`
      : `${count(run.paths)} paths`;
  return `${label}: ${ago(run.at, now) ?? "?"}, ${runResult(run)}, ${what}`;
}

// Given-up paths: which, why, and when the full sync that repairs them runs.
function failingLines(f: LaneStatus["failing"] | undefined, now: Date): string[] {
  if (f === undefined || f === null) return [];
  const which = f.sample.length > 0 ? `: ${f.sample.join(", ")}${f.paths > f.sample.length ? ", ..." : ""}` : "";
  const why = f.reasons.length > 0 ? ` (${f.reasons.join("; ")})` : "";
  const when = f.repairAt === null ? "soon" : (ago(f.repairAt, now) ?? "?");
  const tried = f.attempts > 0 ? `, ${f.attempts} tried so far` : "";
  return [
    `not on the target: ${f.paths > 0 ? `${count(f.paths)} path(s)` : "what a full sync failed to send"}${why}${which}`,
    `repair: full sync ${when}${tried}`,
  ];
}

function initialSyncLine(init: LaneStatus["initialSync"]): string | undefined {
  if (init.state !== "running" && init.state !== "failed") return undefined;
  return `initial sync: ${init.state}${init.progress ? ` (${progressFigures(init.progress)})` : ""}`;
}

// ` (Synced, Healthy)` after a daemon or watcher, when the health is known.
const marks = (h: ResourceHealth | undefined): string => (h ? `  (${h.sync}, ${h.health})` : "");

// How far behind a lane is: its changes not on the target, since when, and its last success.
function behindText(l: LaneStatus, now: Date): string {
  const since = l.behindSince === null ? "" : ` for ${(ago(l.behindSince, now) ?? "?").replace(/ ago$/, "")}`;
  const success = l.lastSuccessAt === null ? "no run succeeded yet" : `last success ${ago(l.lastSuccessAt, now) ?? "?"}`;
  return `${count(l.pending)} change(s) not on it${since} (${success})`;
}

// One target of a watch with several: where it stands, then its details.
function laneLines(l: LaneStatus, now: Date, running: boolean): string[] {
  if (!running) return [`target ${l.url}: ${l.pending > 0 ? `${count(l.pending)} change(s) pending when the watcher ended (the next start's full sync sends them)` : "nothing pending when the watcher ended"}`];
  const where = l.halted !== null ? "HALTED (no rsync runs to it)" : l.pending > 0 ? `BEHIND: ${behindText(l, now)}` : "up to date";
  const details = [
    runLine("last sync", l.lastIncremental ?? l.lastRun, now),
    l.retryAt === null ? undefined : `retry: ${ago(l.retryAt, now) ?? "?"}`,
    ...failingLines(l.failing, now),
    runLine("last full sync", l.lastFullSync, now),
    l.nextFullSync === null ? undefined : `next full sync: ${ago(l.nextFullSync, now) ?? "?"}`,
    initialSyncLine(l.initialSync),
    l.healthy || l.lastError === null ? undefined : `error: ${l.lastError.message}`,
  ].filter((x): x is string => x !== undefined);
  return [`target ${l.url}: ${where}`, ...details.map((d) => `  ${d}`)];
}

// A watcher with several targets: the watch's own lines, which lanes are behind, then each lane.
function lanesLines(rep: WatcherStatusDoc, lanes: readonly LaneStatus[], now: Date, running: boolean): string[] {
  if (!running) return lanes.flatMap((l) => laneLines(l, now, false));
  const behind = lanes.filter((l) => l.pending > 0 || l.halted !== null);
  const worst = [...behind].sort((a, b) => b.pending - a.pending);
  return [
    ...(rep.watcher === null ? [] : [`event source: ${rep.watcher}${rep.watcherReason ? ` (${rep.watcherReason})` : ""}${rep.watches === null ? "" : `, ${rep.watches} watches`}`]),
    behind.length === 0
      ? `targets: ${lanes.length}, all up to date`
      : `behind: ${worst.map((l) => (l.halted !== null ? `${l.url} (halted)` : `${l.url} by ${count(l.pending)} change(s)${l.behindSince === null ? "" : ` for ${(ago(l.behindSince, now) ?? "?").replace(/ ago$/, "")}`}`)).join("; ")}`,
    ...unwatchedLines(rep, (t) => ago(t, now)),
    ...lanes.flatMap((l) => laneLines(l, now, true)),
  ];
}

function watcherLines(w: WatcherStatus, now: Date, color: boolean, h?: ResourceHealth): string[] {
  const halted = w.report?.state === "halted" ? ", HALTED (no rsync runs)" : "";
  const state = w.running ? `running, pid ${w.pid}${halted}` : "NOT RUNNING";
  const rep = w.report;
  const lanes = rep?.targets !== undefined && rep.targets.length > 1 ? rep.targets : undefined;
  const to = w.targets.length > 1 ? `${w.targets.length} targets` : w.target;
  const head = `watcher ${w.name}: ${state}  ${w.source} -> ${to}${marks(h)}`;
  // A watcher that does not run has no pending work in flight and no next full sync: what its last
  // document says is history, and reads as such.
  const lines = [
    ...(rep === undefined
      ? []
      : lanes !== undefined
        ? lanesLines(rep, lanes, now, w.running)
        : w.running
          ? [
              rep.watcher === null ? undefined : `event source: ${rep.watcher}${rep.watcherReason ? ` (${rep.watcherReason})` : ""}${rep.watches === null ? "" : `, ${rep.watches} watches`}`,
              runLine("last sync", rep.lastIncremental ?? rep.lastRun, now),
              `pending changes: ${pendingText(rep.pending, rep)}`,
              ...unwatchedLines(rep, (t) => ago(t, now)),
              rep.retryAt === null ? undefined : `retry: ${ago(rep.retryAt, now) ?? "?"}`,
              ...failingLines(rep.failing, now),
              runLine("last full sync", rep.lastFullSync, now),
              rep.nextFullSync === null ? undefined : `next full sync: ${ago(rep.nextFullSync, now) ?? "?"}`,
              initialSyncLine(rep.initialSync),
            ]
          : [runLine("last sync", rep.lastIncremental ?? rep.lastRun, now), rep.pending > 0 ? `pending changes when it ended: ${rep.pending} (the next start's full sync sends them)` : undefined]),
    w.problem ? `problem: ${w.problem}` : undefined,
  ].filter((l): l is string => l !== undefined);
  const paint = (s: string) => (color ? (w.healthy ? pc.green(s) : pc.red(s)) : s);
  return [paint(head), ...lines.map((l) => `  ${l}`)];
}

// The agent recorded in the stateDir, or the agents that run when that one is gone (one that cannot
// write its status yet is running all the same).
function agentLine(a: AgentSummary): string {
  if (a.running) return `agent: running, pid ${a.pid}`;
  const others = a.otherPids ?? [];
  if (others.length === 0) return `agent: not running (pid ${a.pid ?? "?"} is gone)`;
  const runs = `\`rtsync agent\` runs as pid ${others.join(", ")} but has not written its status here yet (it retries; its log says why)`;
  return a.pid === undefined ? `agent: ${runs}` : `agent: pid ${a.pid} recorded in the stateDir is gone; ${runs}`;
}

// The node's sync status and health, the agent and the revision it applied, node-level problems.
function nodeLines(r: NodeHealthReport, now: Date): string[] {
  const { health } = r;
  const lines = [`sync: ${health.sync}, health: ${health.health}`];
  if (r.revision) {
    const from = r.revision.source.kind === "git" ? `git ${r.revision.source.ref}` : "manifest sha256";
    lines.push(`revision: ${r.revision.revision.slice(0, 12)} (${from}), applied ${ago(r.revision.appliedAt, now) ?? "?"}, ${r.revision.result}`);
  }
  if (r.agent) lines.push(agentLine(r.agent));
  for (const p of health.problems) if (p.resource === undefined) lines.push(`problem: ${p.message}`);
  return lines;
}

export function renderStatus(s: NodeStatus, now: Date, color: boolean, report?: NodeHealthReport): string[] {
  const paint = (ok: boolean, text: string) => (color ? (ok ? pc.green(text) : pc.red(text)) : text);
  const lines = [`rtsync status: ${s.manifest} on node ${s.node}`, ...(report ? nodeLines(report, now) : [])];
  s.daemons.forEach((d, i) => {
    const h = report?.health.daemons[i];
    lines.push(paint(d.healthy && h?.health !== "Degraded", `daemon ${d.name}: ${d.running ? `running, pid ${d.pid}` : "NOT RUNNING"}  ${d.address}:${d.port}${marks(h)}`));
    const problem = h?.problem ?? d.problem;
    if (problem) lines.push(`  problem: ${problem}`);
  });
  s.watchers.forEach((w, i) => {
    const h = report?.health.watchers[i];
    lines.push(...watcherLines(h?.problem && h.problem !== w.problem ? { ...w, problem: h.problem } : w, now, color, h));
  });
  if (s.daemons.length + s.watchers.length === 0) lines.push(`nothing declared for node ${s.node}`);
  lines.push(s.healthy ? "healthy" : "UNHEALTHY");
  return lines;
}
