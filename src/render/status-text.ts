import pc from "picocolors";
import type { NodeStatus, WatcherStatus } from "../reconcile/status.ts";
import { progressFigures, type ProgressFigures } from "./progress-text.ts";

// `rtsync status` as text. Pure: `now` comes in, so ages are testable.

export function ago(iso: unknown, now: Date): string | undefined {
  if (typeof iso !== "string") return undefined;
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms)) return undefined;
  const s = Math.round(Math.abs(ms) / 1000);
  const m = Math.round(s / 60); // 59m50s reads "1h", not "60m"
  const text = s < 60 ? `${s}s` : m < 60 ? `${m}m` : `${Math.round(s / 3600)}h`;
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

function runLine(label: string, run: unknown, now: Date): string | undefined {
  if (!run || typeof run !== "object") return undefined;
  const r = run as Record<string, unknown>;
  const when = ago(r["at"] ?? r["finishedAt"] ?? r["startedAt"], now) ?? "?";
  const result = r["ok"] === true ? "ok" : r["ok"] === false ? `failed${r["exitCode"] !== undefined ? ` (rsync exit ${String(r["exitCode"])})` : ""}` : "running";
  const paths = typeof r["paths"] === "number" ? `, ${r["paths"]} paths` : "";
  return `${label}: ${when}, ${result}${paths}`;
}

function initialSyncLine(init: unknown): string | undefined {
  if (!init || typeof init !== "object") return undefined;
  const i = init as { state?: unknown; progress?: ProgressFigures | null };
  if (i.state !== "running" && i.state !== "failed") return undefined;
  return `initial sync: ${String(i.state)}${i.progress ? ` (${progressFigures(i.progress)})` : ""}`;
}

function watcherLines(w: WatcherStatus, now: Date, color: boolean): string[] {
  const state = w.running ? `running, pid ${w.pid}` : "NOT RUNNING";
  const head = `watcher ${w.name}: ${state}  ${w.source} -> ${w.target}`;
  const rep = w.report ?? {};
  const lines = [
    runLine("last sync", rep["lastIncremental"] ?? rep["lastRun"], now),
    typeof rep["pending"] === "number" ? `pending changes: ${rep["pending"]}` : undefined,
    runLine("last full sync", rep["lastFullSync"], now),
    ago(rep["nextFullSync"], now) ? `next full sync: ${ago(rep["nextFullSync"], now)}` : undefined,
    initialSyncLine(rep["initialSync"]),
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
