import { renderVerify } from "./itemize.ts";
import { median } from "./stats.ts";
import type { RunRecord, ScenarioName, ToolName } from "./types.ts";

// Medians of the runs and the one results table (pure: records in, markdown out).

export interface MetricDef {
  readonly scenario: ScenarioName;
  readonly key: string;
  readonly label: string;
  readonly unit: "s" | "MiB" | "KiB" | "n" | "%";
  /** show ratios to the floor and to the classic loop */
  readonly ratios: boolean;
}

export const METRICS: readonly MetricDef[] = [
  { scenario: "startup", key: "watchedSec", label: "startup: start → every directory watched (s)", unit: "s", ratios: false },
  { scenario: "startup", key: "readySec", label: "startup: start → first change on replica (s)", unit: "s", ratios: true },
  { scenario: "startup", key: "rssMiB", label: "startup: RSS of the tool's process tree, settled (MiB)", unit: "MiB", ratios: true },
  { scenario: "startup", key: "rssPeakMiB", label: "startup: RSS peak incl. initial sync (MiB)", unit: "MiB", ratios: true },
  { scenario: "startup", key: "watches", label: "startup: inotify watches held", unit: "n", ratios: false },
  { scenario: "idle", key: "cpuSec", label: "idle: CPU over the idle window (s)", unit: "s", ratios: false },
  { scenario: "latency", key: "p50", label: "latency p50: close → on replica (s)", unit: "s", ratios: true },
  { scenario: "latency", key: "p95", label: "latency p95 (s)", unit: "s", ratios: true },
  { scenario: "latency", key: "max", label: "latency max (s)", unit: "s", ratios: true },
  { scenario: "delete-rename", key: "convergeSec", label: "200 deletes + dir rename: → converged (s)", unit: "s", ratios: true },
  { scenario: "delete-rename", key: "runs", label: "delete+rename: rsync runs", unit: "n", ratios: false },
  { scenario: "delete-rename", key: "sentKiB", label: "delete+rename: sent (KiB)", unit: "KiB", ratios: true },
  { scenario: "bigrename", key: "convergeSec", label: "100 MiB dir rename: → converged (s)", unit: "s", ratios: true },
  { scenario: "bigrename", key: "runs", label: "100 MiB dir rename: rsync runs", unit: "n", ratios: false },
  { scenario: "bigrename", key: "sentKiB", label: "100 MiB dir rename: sent (KiB)", unit: "KiB", ratios: true },
  { scenario: "bigrename", key: "sentPct", label: "100 MiB dir rename: sent, % of the directory", unit: "%", ratios: false },
  { scenario: "burst", key: "replicaSec", label: "burst 1,000 files: last write → all on replica (s)", unit: "s", ratios: true },
  { scenario: "burst", key: "idleSec", label: "burst: last write → tool idle (s)", unit: "s", ratios: true },
  { scenario: "burst", key: "runs", label: "burst: rsync runs until idle", unit: "n", ratios: false },
  { scenario: "burst", key: "cpuSec", label: "burst: CPU until idle (s)", unit: "s", ratios: true },
  { scenario: "burst", key: "sentKiB", label: "burst: sent until idle (KiB)", unit: "KiB", ratios: true },
  { scenario: "storm", key: "replicaSec", label: "storm 50,000 files: last write → replica equal (s)", unit: "s", ratios: false },
  { scenario: "storm", key: "watcherCpuSec", label: "storm: watcher CPU, rsync excluded (s)", unit: "s", ratios: false },
  { scenario: "storm", key: "cpuUsPerEvent", label: "storm: watcher CPU per inotify event (µs)", unit: "n", ratios: false },
  { scenario: "overflow", key: "convergeSec", label: "overflow (12,000 files, reader stalled): resume → converged (s)", unit: "s", ratios: false },
  { scenario: "overflow", key: "idleSec", label: "overflow: resume → tool idle (s)", unit: "s", ratios: false },
  { scenario: "overflow", key: "runs", label: "overflow: rsync runs until idle", unit: "n", ratios: false },
  { scenario: "soak", key: "ops", label: "soak: operations (50/s)", unit: "n", ratios: false },
  { scenario: "soak", key: "convergeSec", label: "soak: last operation → replica equal (s)", unit: "s", ratios: false },
  { scenario: "soak", key: "fullSyncs", label: "soak: full syncs during it", unit: "n", ratios: false },
  { scenario: "soak", key: "rssFirstMiB", label: "soak: RSS at 30 s (MiB)", unit: "MiB", ratios: false },
  { scenario: "soak", key: "rssLastMiB", label: "soak: RSS at the end (MiB)", unit: "MiB", ratios: false },
];

export interface Cell {
  /** median; null = never happened (timeout) in the median run; undefined = no data */
  readonly value: number | null | undefined;
  readonly lowerBound: boolean;
  /** what the verification found, when any run of the scenario left the replica different */
  readonly loss: string | undefined;
  readonly error: string | undefined;
  readonly runs: number;
}

export function aggregate(records: readonly RunRecord[], tool: ToolName, size: number, m: MetricDef): Cell {
  const outcomes = records
    .filter((r) => r.tool === tool && r.size === size)
    .map((r) => r.scenarios[m.scenario])
    .filter((o) => o !== undefined);
  const values: number[] = [];
  let lowerBound = false;
  for (const o of outcomes) {
    const v = o.metrics[m.key];
    if (v === undefined) continue;
    values.push(v === null ? Number.POSITIVE_INFINITY : v);
    if (o.lowerBound?.includes(m.key)) lowerBound = true;
  }
  const failed = outcomes.find((o) => o.verify && !o.verify.ok);
  const med = median(values);
  return {
    value: med === undefined ? undefined : Number.isFinite(med) ? med : null,
    lowerBound,
    loss: failed?.verify ? renderVerify(failed.verify) : undefined,
    error: outcomes.find((o) => o.error)?.error,
    runs: values.length,
  };
}

export function formatValue(v: number, unit: MetricDef["unit"]): string {
  switch (unit) {
    case "s":
      return v < 10 ? v.toFixed(3) : v.toFixed(1);
    case "MiB":
      return v.toFixed(1);
    case "KiB":
      return Math.round(v).toLocaleString("en-US");
    case "n":
      return Number.isInteger(v) ? String(v) : v.toFixed(1);
    case "%":
      // two significant digits below 10 %: 0.0041 % and 1.2 % both say something
      return v >= 10 ? `${v.toFixed(1)} %` : `${v === 0 ? "0" : v.toPrecision(2)} %`;
  }
}

function ratio(v: number, base: Cell | undefined): string | undefined {
  if (!base || typeof base.value !== "number" || base.value <= 0 || base.loss) return undefined;
  const r = v / base.value;
  return r < 10 ? r.toFixed(2) : r.toFixed(0);
}

export function renderCell(cell: Cell, m: MetricDef, tool: ToolName, floor?: Cell, classic?: Cell): string {
  if (cell.loss) return `DATA LOSS (${cell.loss})`;
  if (cell.value === undefined) return cell.error ? "error" : "–";
  if (cell.value === null) return "never";
  let text = `${cell.lowerBound ? "≥" : ""}${formatValue(cell.value, m.unit)}`;
  if (m.ratios) {
    const parts: string[] = [];
    const f = tool === "floor" ? undefined : ratio(cell.value, floor);
    const c = tool === "classic" ? undefined : ratio(cell.value, classic);
    if (f) parts.push(`${f}×F`);
    if (c) parts.push(`${cell.lowerBound ? "≥" : ""}${c}×C`);
    if (parts.length > 0) text += ` (${parts.join(", ")})`;
  }
  return text;
}

function verifyCell(records: readonly RunRecord[], tool: ToolName, size: number): string {
  const mine = records.filter((r) => r.tool === tool && r.size === size);
  if (mine.length === 0) return "–";
  if (mine.every((r) => r.skipped)) return "skipped";
  const bad = new Set<string>();
  let checked = 0;
  for (const r of mine) {
    for (const [name, o] of Object.entries(r.scenarios)) {
      if (!o.verify) continue;
      checked++;
      if (!o.verify.ok) bad.add(name);
    }
  }
  if (bad.size > 0) return `DATA LOSS in ${[...bad].join(", ")}`;
  return checked === 0 ? "–" : `ok (${checked} checks)`;
}

/** The markdown table: one row per size and metric, one column per tool; F = floor, C = classic loop. */
export function renderTable(records: readonly RunRecord[], sizes: readonly number[], tools: readonly ToolName[]): string {
  const header = `| files | metric | ${tools.join(" | ")} |`;
  const rule = `|---|---|${tools.map(() => "---").join("|")}|`;
  const rows: string[] = [header, rule];
  const scenarios = new Set(records.flatMap((r) => Object.keys(r.scenarios)));
  for (const size of sizes) {
    const label = size.toLocaleString("en-US");
    for (const m of METRICS) {
      if (!scenarios.has(m.scenario)) continue;
      const floor = aggregate(records, "floor", size, m);
      const classic = aggregate(records, "classic", size, m);
      const cells = tools.map((t) => {
        if (records.some((r) => r.tool === t && r.size === size && r.skipped)) return "skipped";
        return renderCell(aggregate(records, t, size, m), m, t, floor, classic);
      });
      if (cells.every((c) => c === "–" || c === "skipped")) continue;
      rows.push(`| ${label} | ${m.label} | ${cells.join(" | ")} |`);
    }
    rows.push(`| ${label} | replica = source after every scenario | ${tools.map((t) => verifyCell(records, t, size)).join(" | ")} |`);
  }
  return rows.join("\n");
}
