import { median, percentile } from "./stats.ts";

// What `npm run bench:targets` records, and its tables (pure: records in, markdown out).

/** Who pushes to the healthy target A (and, with two, to B, which is stopped meanwhile). */
export const STOPPED_TOOLS = ["rtsync-1", "rtsync-2", "lsyncd-1", "lsyncd-2", "floor"] as const;
export type StoppedTool = (typeof STOPPED_TOOLS)[number];
/** How target B is stopped: its daemon SIGSTOPped (accepts, never answers) or killed (refuses). */
export const STOP_MODES = ["frozen", "killed"] as const;
export type StopMode = (typeof STOP_MODES)[number];

export interface VerifySummary {
  readonly replica: string;
  readonly ok: boolean;
  readonly sample: readonly string[];
}

export interface StoppedRecord {
  readonly part: "stopped";
  readonly size: number;
  readonly run: number;
  readonly tool: StoppedTool;
  /** absent for one target (nothing is stopped) and for the floor */
  readonly mode?: StopMode;
  /** close → on the healthy replica, seconds; null: not there within 30 s */
  readonly latency: readonly (number | null)[];
  /** resume of B → every change on B (s); null: not within the timeout */
  readonly catchUpSec?: number | null;
  /** rsync sessions B's daemon logged from the resume until the tool was idle, and what it received */
  readonly catchUpRuns?: number;
  readonly catchUpKiB?: number;
  readonly verify: readonly VerifySummary[];
  readonly loadavg: readonly number[];
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

/** How the footprint's watches are laid out: one watch with k targets, or k watches of one target. */
export type FootprintLayout = "targets" | "watches";

export interface FootprintRecord {
  readonly part: "footprint";
  readonly size: number;
  readonly run: number;
  readonly layout: FootprintLayout;
  readonly k: number;
  /** VmRSS summed over every watcher's process tree, settled after the initial syncs */
  readonly rssMiB: number;
  /** utime+stime of the trees while the files were written until idle: all, and rsync excluded */
  readonly cpuSec: number;
  readonly watcherCpuSec: number;
  /** rsync sessions all daemons logged meanwhile */
  readonly runs: number;
  readonly files: number;
  readonly verify: readonly VerifySummary[];
  readonly loadavg: readonly number[];
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly error?: string;
}

export type TargetsRecord = StoppedRecord | FootprintRecord;

export interface TargetsDoc {
  readonly date: string;
  readonly machine: Readonly<Record<string, unknown>>;
  readonly options: Readonly<Record<string, unknown>>;
  readonly records: readonly TargetsRecord[];
}

const f3 = (x: number | null | undefined): string => (x === undefined ? "–" : x === null ? "never" : x < 10 ? x.toFixed(3) : x.toFixed(1));
const f1 = (x: number | undefined): string => (x === undefined ? "–" : x.toFixed(1));

/** Latency percentiles over every sample of the runs pooled (a timeout counts as +∞). */
export function pooledLatency(records: readonly StoppedRecord[]): { p50: number | null | undefined; p90: number | null | undefined; max: number | null | undefined; n: number; timeouts: number } {
  const values = records.flatMap((r) => r.latency).map((s) => (s === null ? Number.POSITIVE_INFINITY : s));
  const fin = (x: number | undefined): number | null | undefined => (x === undefined ? undefined : Number.isFinite(x) ? x : null);
  return {
    p50: fin(percentile(values, 50)),
    p90: fin(percentile(values, 90)),
    max: fin(values.length === 0 ? undefined : Math.max(...values)),
    n: values.length,
    timeouts: values.filter((v) => !Number.isFinite(v)).length,
  };
}

function medianOf(xs: readonly (number | null | undefined)[]): number | null | undefined {
  const present = xs.filter((x): x is number | null => x !== undefined).map((x) => (x === null ? Number.POSITIVE_INFINITY : x));
  const m = median(present);
  return m === undefined ? undefined : Number.isFinite(m) ? m : null;
}

function verifyText(records: readonly { verify: readonly VerifySummary[]; error?: string }[]): string {
  const bad = records.flatMap((r) => r.verify.filter((v) => !v.ok));
  if (bad.length > 0) return `DATA LOSS (${[...new Set(bad.map((b) => b.replica))].join(", ")})`;
  const errors = records.filter((r) => r.error).length;
  const checks = records.reduce((n, r) => n + r.verify.length, 0);
  return `ok (${checks} checks)${errors > 0 ? `, ${errors} errors` : ""}`;
}

const TOOL_LABEL: Record<StoppedTool, string> = {
  "rtsync-1": "rtsync, one watch, target A only",
  "rtsync-2": "rtsync, one watch, targets [A, B]",
  "lsyncd-1": "lsyncd delay 0, one sync{} to A",
  "lsyncd-2": "lsyncd delay 0, sync{} to A and to B",
  floor: "floor: one rsync of the changed files to B",
};

/** The stopped-target table: one row per size, tool and mode. */
export function renderStoppedTable(records: readonly StoppedRecord[]): string {
  const rows = [
    "| files | B | who pushes | A: latency p50 / p90 / max (s) | p50 vs rtsync, target A only | B back: resume → caught up (s) | B: rsync runs | B: sent (KiB) | replicas = source |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const sizes = [...new Set(records.map((r) => r.size))].sort((a, b) => a - b);
  for (const size of sizes) {
    const here = records.filter((r) => r.size === size);
    const base = pooledLatency(here.filter((r) => r.tool === "rtsync-1"));
    const groups: { tool: StoppedTool; mode: StopMode | undefined }[] = [];
    for (const tool of STOPPED_TOOLS) {
      for (const mode of [undefined, ...STOP_MODES]) {
        if (here.some((r) => r.tool === tool && r.mode === mode)) groups.push({ tool, mode });
      }
    }
    for (const { tool, mode } of groups) {
      const rs = here.filter((r) => r.tool === tool && r.mode === mode);
      const lat = pooledLatency(rs);
      const ratio = typeof lat.p50 === "number" && typeof base.p50 === "number" && base.p50 > 0 ? `${(lat.p50 / base.p50).toFixed(2)}×` : "–";
      const latency = tool === "floor" ? "–" : `${f3(lat.p50)} / ${f3(lat.p90)} / ${f3(lat.max)}${lat.timeouts ? ` (${lat.timeouts} timed out)` : ""}`;
      const catchUp = medianOf(rs.map((r) => r.catchUpSec));
      const runs = medianOf(rs.map((r) => r.catchUpRuns));
      const kib = medianOf(rs.map((r) => r.catchUpKiB));
      rows.push(
        `| ${size.toLocaleString("en-US")} | ${tool === "floor" ? "–" : (mode ?? "–")} | ${TOOL_LABEL[tool]} | ${latency} | ${tool === "floor" ? "–" : ratio} | ` +
          `${f3(catchUp)} | ${runs === undefined || runs === null ? "–" : String(runs)} | ${kib === undefined || kib === null ? "–" : kib.toFixed(1)} | ${verifyText(rs)} |`,
      );
    }
  }
  return rows.join("\n");
}

export interface Marginal {
  /** cost of one more target (watch with k targets − with 1) / (k − 1) */
  readonly perTarget: number;
  /** cost of one more watch (k watches − 1) / (k − 1) */
  readonly perWatch: number;
  /** perTarget / perWatch (the goal: ≤ 0.10) */
  readonly ratio: number;
}

/** Marginal cost of the k-th target against the k-th watch, from medians at 1 and k. Pure. */
export function marginal(one: number, targetsK: number, watchesK: number, k: number): Marginal {
  const perTarget = (targetsK - one) / (k - 1);
  const perWatch = (watchesK - one) / (k - 1);
  return { perTarget, perWatch, ratio: perWatch === 0 ? Number.NaN : perTarget / perWatch };
}

type FootprintMetric = "rssMiB" | "cpuSec" | "watcherCpuSec";

function footprintMedian(records: readonly FootprintRecord[], layout: FootprintLayout, k: number, m: FootprintMetric): number | undefined {
  // one watch with one target is both layouts at k = 1 (measured once)
  const rs = records.filter((r) => r.k === k && (k === 1 || r.layout === layout) && !r.error);
  return median(rs.map((r) => r[m]));
}

/** The footprint table: each layout's medians at each k, then the marginal cost and its ratio. */
export function renderFootprintTable(records: readonly FootprintRecord[]): string {
  const rows = [
    "| files | watches × targets | RSS of the watchers' trees, settled (MiB) | CPU while the files were written, all (s) | … rsync excluded (s) | rsync runs | replicas = source |",
    "|---|---|---|---|---|---|---|",
  ];
  const sizes = [...new Set(records.map((r) => r.size))].sort((a, b) => a - b);
  const ks = [...new Set(records.map((r) => r.k))].sort((a, b) => a - b);
  const marginals: string[] = [
    "| files | k | metric | one more target | one more watch | ratio (goal ≤ 0.10) |",
    "|---|---|---|---|---|---|",
  ];
  for (const size of sizes) {
    const here = records.filter((r) => r.size === size);
    for (const k of ks) {
      for (const layout of k === 1 ? (["targets"] as const) : (["targets", "watches"] as const)) {
        const rs = here.filter((r) => r.k === k && (k === 1 || r.layout === layout));
        if (rs.length === 0) continue;
        const label = k === 1 ? "1 × 1" : layout === "targets" ? `1 × ${k}` : `${k} × 1`;
        const runs = median(rs.map((r) => r.runs));
        rows.push(
          `| ${size.toLocaleString("en-US")} | ${label} | ${f1(footprintMedian(here, layout, k, "rssMiB"))} | ${f3(footprintMedian(here, layout, k, "cpuSec"))} | ` +
            `${f3(footprintMedian(here, layout, k, "watcherCpuSec"))} | ${runs === undefined ? "–" : String(runs)} | ${verifyText(rs)} |`,
        );
      }
      if (k === 1) continue;
      for (const [m, what, unit] of [
        ["rssMiB", "RSS", "MiB"],
        ["cpuSec", "CPU, all", "s"],
        ["watcherCpuSec", "CPU, rsync excluded", "s"],
      ] as const) {
        const one = footprintMedian(here, "targets", 1, m);
        const t = footprintMedian(here, "targets", k, m);
        const w = footprintMedian(here, "watches", k, m);
        if (one === undefined || t === undefined || w === undefined) continue;
        const g = marginal(one, t, w, k);
        const fmt = (x: number): string => (unit === "MiB" ? `${x.toFixed(Math.abs(x) < 1 ? 2 : 1)} MiB` : `${x.toFixed(3)} s`);
        // two significant digits below 0.1: 0.0042 says more than 0.00
        const r = !Number.isFinite(g.ratio) ? "–" : Math.abs(g.ratio) < 0.1 ? g.ratio.toPrecision(2) : g.ratio.toFixed(2);
        marginals.push(
          `| ${size.toLocaleString("en-US")} | ${k} | ${what} | ${fmt(g.perTarget)} | ${fmt(g.perWatch)} | ${r} |`,
        );
      }
    }
  }
  return `${rows.join("\n")}\n\nMarginal cost, from the medians: (1 watch × k targets − 1 × 1) / (k − 1) against (k watches × 1 − 1 × 1) / (k − 1).\n\n${marginals.join("\n")}`;
}

/** Load averages seen over the records (1-minute figure), as "min–max". */
export function loadRange(records: readonly TargetsRecord[]): string {
  const ones = records.map((r) => r.loadavg[0]).filter((x): x is number => x !== undefined);
  if (ones.length === 0) return "–";
  return `${Math.min(...ones).toFixed(2)}–${Math.max(...ones).toFixed(2)}`;
}

export function renderReport(doc: TargetsDoc): string {
  const stopped = doc.records.filter((r): r is StoppedRecord => r.part === "stopped");
  const footprint = doc.records.filter((r): r is FootprintRecord => r.part === "footprint");
  const m = doc.machine;
  const parts = [
    `rtsync targets benchmark, ${doc.date}, commit ${String(m["rtsyncCommit"] ?? "?")}, ${String(m["cores"] ?? "?")} cores, ` +
      `rsync ${String(m["rsync"] ?? "?")}, lsyncd ${String(m["lsyncd"] ?? "–")}, node ${String(m["node"] ?? "?")}; ` +
      `load average (1 min) during the sessions ${loadRange(doc.records)}`,
  ];
  if (stopped.length > 0) parts.push(renderStoppedTable(stopped));
  if (footprint.length > 0) parts.push(renderFootprintTable(footprint));
  return `${parts.join("\n\n")}\n`;
}
