import pc from "picocolors";
import type { NodeStatus, WatcherStatus } from "../resources/node-status.ts";
import type { RunRecord, WatcherStatusDoc } from "../state/watcher-status.ts";
import { progressFigures } from "./progress-text.ts";

// `rtsync status` as text. Pure: `now` comes in, so ages are testable.

export function ago(iso: string, now: Date): string | undefined {
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  const s = Math.round(Math.abs(ms) / 1000);
  const m = Math.round(s / 60); // 59m50s reads "1h", not "60m"
  const text = s < 60 ? `${s}s` : m < 60 ? `${m}m` : `${Math.round(s / 3600)}h`;
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

function runLine(label: string, run: RunRecord | null, now: Date): string | undefined {
  if (run === null) return undefined;
  const result = run.ok ? "ok" : `failed (rsync exit ${run.exitCode})`;
  return `${label}: ${ago(run.at, now) ?? "?"}, ${result}, ${run.paths} paths`;
}

function initialSyncLine(init: WatcherStatusDoc["initialSync"]): string | undefined {
  if (init.state !== "running" && init.state !== "failed") return undefined;
  return `initial sync: ${init.state}${init.progress ? ` (${progressFigures(init.progress)})` : ""}`;
}

function watcherLines(w: WatcherStatus, now: Date, color: boolean): string[] {
  const state = w.running ? `running, pid ${w.pid}` : "NOT RUNNING";
  const head = `watcher ${w.name}: ${state}  ${w.source} -> ${w.target}`;
  const rep = w.report;
  // A watcher that does not run has no pending work in flight and no next full sync: what its last
  // document says is history, and reads as such.
  const lines = [
    ...(rep === undefined
      ? []
      : w.running
        ? [
            runLine("last sync", rep.lastIncremental ?? rep.lastRun, now),
            `pending changes: ${rep.pending}`,
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

export function renderStatus(s: NodeStatus, now: Date, color: boolean): string[] {
  const paint = (ok: boolean, text: string) => (color ? (ok ? pc.green(text) : pc.red(text)) : text);
  const lines = [`rtsync status: ${s.manifest} on node ${s.node}`];
  for (const d of s.daemons) {
    lines.push(paint(d.healthy, `daemon ${d.name}: ${d.running ? `running, pid ${d.pid}` : "NOT RUNNING"}  ${d.address}:${d.port}`));
    if (d.problem) lines.push(`  problem: ${d.problem}`);
  }
  for (const w of s.watchers) lines.push(...watcherLines(w, now, color));
  if (s.daemons.length + s.watchers.length === 0) lines.push(`nothing declared for node ${s.node}`);
  lines.push(s.healthy ? "healthy" : "UNHEALTHY");
  return lines;
}
