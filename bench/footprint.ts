// `npm run bench:footprint` (issue 20): what a node of N watch jobs costs at rest. For each N
// (--jobs 1,10,50): N source trees of --files 1,000 files, one bench-started `rsync --daemon` on
// 127.0.0.1 (each job pushes to its own path of its module), and
//   - rtsync: `rtsync agent MANIFEST` with the N watch jobs;
//   - lsyncd: stock default.rsync (delay 0), the same N syncs to the same daemon.
// Once every job's initial sync has been logged by the daemon, --settle-seconds (default 0), then a
// window of --rest-seconds (default 60) with nothing changing: at its end the RSS (VmRSS) and PSS
// (/proc/PID/smaps_rollup) of every process of the tool, summed and per process, and the CPU
// (utime+stime) each used over the window, as seconds per minute. rtsync's processes are found
// whatever their layout (bench/node.ts); rsync processes (the daemon, transfers) are not counted.
// A benchmark, not a test: nothing fails on a number. JSON (--json FILE) + a table on stdout.
import { spawnSync } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup, runBenchMain, runCleanups, startBench } from "./cleanup.ts";
import { logSize, startRsyncDaemon, type RsyncDaemon } from "./daemon.ts";
import { describeMachine } from "./machine.ts";
import {
  findTreeProcesses,
  logSince,
  readProcessFigures,
  renderLsyncdNodeConfig,
  rtsyncNode,
  sessionsOf,
  startLsyncd,
  waitFor,
  writeManifest,
  type ProcessFigures,
  type WatchJob,
} from "./node.ts";
import { planTree, writeTree } from "./tree.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const USAGE = `usage: npm run bench:footprint -- [options]
  --jobs 1,10,50          node sizes (watch jobs)
  --files 1000            files per job's tree
  --rest-seconds 60       the window at rest (CPU per minute over it; memory at its end)
  --settle-seconds 0      wait this long after everything is up before the window
  --tools rtsync,lsyncd   which to run
  --json FILE             results (default bench/results/footprint-<date>.json)`;

type Tool = "rtsync" | "lsyncd";

interface Options {
  jobs: number[];
  files: number;
  restSeconds: number;
  settleSeconds: number;
  tools: Tool[];
  json: string | undefined;
}

function parseArgs(argv: readonly string[]): Options | string {
  const o: Options = { jobs: [1, 10, 50], files: 1000, restSeconds: 60, settleSeconds: 0, tools: ["rtsync", "lsyncd"], json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--help" || flag === "-h") return USAGE;
    const v = argv[++i];
    if (v === undefined) return `${flag} needs a value\n${USAGE}`;
    const num = (s: string): number => {
      const n = Number(s.replace(/_/g, ""));
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag}: not a number: ${s}`);
      return n;
    };
    switch (flag) {
      case "--jobs": o.jobs = v.split(",").map((s) => Math.round(num(s))).filter((n) => n > 0); break;
      case "--files": o.files = Math.round(num(v)); break;
      case "--rest-seconds": o.restSeconds = num(v); break;
      case "--settle-seconds": o.settleSeconds = num(v); break;
      case "--tools": o.tools = v.split(",").filter((t): t is Tool => t === "rtsync" || t === "lsyncd"); break;
      case "--json": o.json = v; break;
      default: return `unknown option ${flag}\n${USAGE}`;
    }
  }
  return o;
}

const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);

interface Measured {
  readonly tool: Tool;
  readonly jobs: number;
  /** start → every job's initial sync logged by the daemon */
  readonly upSeconds: number | null;
  readonly restSeconds: number;
  readonly processes: Array<ProcessFigures & { readonly role: string; readonly cpuInWindow: number; readonly cpuExactInWindow: number | undefined }>;
  readonly rssKiB: number;
  readonly pssKiB: number;
  readonly cpuSecondsPerMinute: number;
  /** The same from the scheduler's exact account (schedstat), where the kernel keeps one. */
  readonly cpuExactSecondsPerMinute?: number;
  /** processes that came or went during the window */
  readonly churn: { readonly appeared: number[]; readonly gone: number[] };
  readonly error?: string;
}

function role(p: ProcessFigures): string {
  if (p.cmd.startsWith("agent")) return "agent";
  if (p.cmd.startsWith("__watch")) return "watch";
  if (p.cmd.startsWith("__host")) return "host";
  return p.comm;
}

async function measureAtRest(tool: Tool, jobs: number, upSeconds: number | null, find: () => number[], o: Options): Promise<Measured> {
  if (o.settleSeconds > 0) await sleep(o.settleSeconds * 1000);
  const before = new Map(find().map((pid) => [pid, readProcessFigures(pid)]));
  const t0 = performance.now();
  await sleep(o.restSeconds * 1000);
  const window = (performance.now() - t0) / 1000;
  const after = find();
  const processes = after
    .map((pid) => readProcessFigures(pid))
    .filter((p): p is ProcessFigures => p !== undefined)
    .map((p) => {
      const b = before.get(p.pid);
      const exact = p.cpuExactSeconds === undefined || b?.cpuExactSeconds === undefined ? (b === undefined ? p.cpuExactSeconds : undefined) : p.cpuExactSeconds - b.cpuExactSeconds;
      return { ...p, role: role(p), cpuInWindow: p.cpuSeconds - (b?.cpuSeconds ?? 0), cpuExactInWindow: exact };
    });
  const sum = (f: (p: (typeof processes)[number]) => number): number => processes.reduce((n, p) => n + f(p), 0);
  return {
    tool,
    jobs,
    upSeconds,
    restSeconds: window,
    processes,
    rssKiB: sum((p) => p.rssKiB),
    pssKiB: sum((p) => p.pssKiB),
    cpuSecondsPerMinute: (sum((p) => p.cpuInWindow) / window) * 60,
    ...(processes.every((p) => p.cpuExactInWindow !== undefined) ? { cpuExactSecondsPerMinute: (sum((p) => p.cpuExactInWindow ?? 0) / window) * 60 } : {}),
    churn: { appeared: after.filter((p) => !before.has(p)), gone: [...before.keys()].filter((p) => !after.includes(p)) },
  };
}

// Until the daemon has logged a finished session for every job's path (its initial sync).
async function waitInitialSyncs(daemon: RsyncDaemon, offset: number, jobs: readonly WatchJob[], timeoutMs: number): Promise<boolean> {
  const ok = await waitFor(async () => {
    const text = await logSince(daemon.logPath, offset);
    return jobs.every((j) => sessionsOf(text, j.modulePath).closed > 0);
  }, timeoutMs, 100);
  return ok !== null;
}

async function runRtsync(base: string, daemon: RsyncDaemon, sources: readonly string[], o: Options): Promise<Measured> {
  const jobs = sources.map((source, i): WatchJob => ({ name: `job${String(i + 1).padStart(2, "0")}`, source, modulePath: `rtsync/job${String(i + 1).padStart(2, "0")}` }));
  for (const j of jobs) await mkdir(join(base, "replica", j.modulePath), { recursive: true });
  const stateDir = join(base, "rtsync-state");
  const manifestPath = join(base, "rtsync.yaml");
  await writeManifest(manifestPath, { stateDir, passwordFile: daemon.passwordFile, port: daemon.port, jobs });
  const node = rtsyncNode(manifestPath, stateDir);
  const offset = await logSize(daemon.logPath);
  try {
    const t0 = performance.now();
    await node.startAgent();
    const synced = await waitInitialSyncs(daemon, offset, jobs, 60_000 + jobs.length * 10_000);
    const up = synced ? (performance.now() - t0) / 1000 : null;
    log(`  rtsync: up in ${up === null ? "(timed out)" : `${up.toFixed(1)} s`}, ${node.processes().length} processes; ${o.restSeconds} s at rest…`);
    return await measureAtRest("rtsync", jobs.length, up, () => node.processes(), o);
  } finally {
    await node.stop();
  }
}

async function runLsyncd(base: string, daemon: RsyncDaemon, sources: readonly string[], o: Options): Promise<Measured> {
  const jobs = sources.map((source, i): WatchJob => ({ name: `job${i + 1}`, source, modulePath: `lsyncd/job${String(i + 1).padStart(2, "0")}` }));
  for (const j of jobs) await mkdir(join(base, "replica", j.modulePath), { recursive: true });
  const work = join(base, "lsyncd");
  await mkdir(work, { recursive: true });
  const config = join(work, "lsyncd.lua");
  await writeFile(config, renderLsyncdNodeConfig(work, jobs, daemon, 0));
  const offset = await logSize(daemon.logPath);
  const t0 = performance.now();
  const lsyncd = startLsyncd(config);
  try {
    const synced = await waitInitialSyncs(daemon, offset, jobs, 60_000 + jobs.length * 10_000);
    const up = synced ? (performance.now() - t0) / 1000 : null;
    log(`  lsyncd: up in ${up === null ? "(timed out)" : `${up.toFixed(1)} s`}; ${o.restSeconds} s at rest…`);
    return await measureAtRest("lsyncd", jobs.length, up, () => findTreeProcesses([lsyncd.pid]), o);
  } finally {
    await lsyncd.stop();
  }
}

async function runSize(root: string, n: number, o: Options, out: Measured[]): Promise<void> {
  const base = join(root, `jobs-${n}`);
  await mkdir(join(base, "replica"), { recursive: true, mode: 0o755 });
  const sources: string[] = [];
  const layout = planTree(o.files);
  log(`${n} job(s): building ${n} trees of ${o.files} files…`);
  for (let i = 1; i <= n; i++) {
    const source = join(base, "src", `job${String(i).padStart(2, "0")}`);
    await mkdir(source, { recursive: true, mode: 0o755 });
    await writeTree(source, layout);
    sources.push(source);
  }
  spawnSync("sync", [], { stdio: "ignore" });
  const daemonDir = join(base, "daemon");
  await mkdir(daemonDir, { recursive: true });
  const daemon = await startRsyncDaemon(daemonDir, join(base, "replica"));
  const unregister = onCleanup(() => daemon.stop());
  try {
    for (const tool of o.tools) {
      log(`${n} job(s): ${tool}`);
      try {
        out.push(tool === "rtsync" ? await runRtsync(base, daemon, sources, o) : await runLsyncd(base, daemon, sources, o));
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        log(`  error: ${error}`);
        out.push({ tool, jobs: n, upSeconds: null, restSeconds: 0, processes: [], rssKiB: 0, pssKiB: 0, cpuSecondsPerMinute: 0, churn: { appeared: [], gone: [] }, error });
      }
    }
  } finally {
    await daemon.stop();
    unregister();
    await rm(base, { recursive: true, force: true });
  }
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

function renderTables(results: readonly Measured[]): string {
  const lines = [
    "| jobs | tool | processes | RSS (MiB) | PSS (MiB) | CPU at rest (s/min, ticks) | CPU at rest (s/min, schedstat) | up (s) |",
    "|---|---|---|---|---|---|---|---|",
    ...results.map(
      (r) =>
        `| ${r.jobs} | ${r.tool} | ${r.processes.length} | ${mib(r.rssKiB)} | ${mib(r.pssKiB)} | ${r.cpuSecondsPerMinute.toFixed(3)} | ${r.cpuExactSecondsPerMinute === undefined ? "–" : r.cpuExactSecondsPerMinute.toFixed(3)} | ${r.upSeconds === null ? "–" : r.upSeconds.toFixed(1)} |${r.error ? ` error: ${r.error}` : ""}`,
    ),
    "",
    "Per process (grouped by role; RSS/PSS/CPU per process: mean, and max where several):",
    "",
    "| jobs | tool | role | count | RSS each (MiB) | PSS each (MiB) | CPU each (s/min) |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const roles = [...new Set(r.processes.map((p) => p.role))];
    for (const role of roles) {
      const ps = r.processes.filter((p) => p.role === role);
      const cell = (f: (p: (typeof ps)[number]) => number, fmt: (x: number) => string): string => {
        const values = ps.map(f);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        return values.length > 1 ? `${fmt(mean)} (max ${fmt(Math.max(...values))})` : fmt(mean);
      };
      const perMin = (p: (typeof ps)[number]): number => (p.cpuInWindow / r.restSeconds) * 60;
      lines.push(`| ${r.jobs} | ${r.tool} | ${role} | ${ps.length} | ${cell((p) => p.rssKiB, mib)} | ${cell((p) => p.pssKiB, mib)} | ${cell(perMin, (x) => x.toFixed(3))} |`);
    }
  }
  const rt = (n: number): Measured | undefined => results.find((r) => r.tool === "rtsync" && r.jobs === n && !r.error);
  const goal = (ok: boolean | undefined): string => (ok === undefined ? "not measured" : ok ? "met" : "**missed**");
  const ten = rt(10);
  const one = rt(1);
  lines.push("", "Goals (issue 20), rtsync:", "");
  lines.push(`- 10 jobs: summed RSS ≤ 128 MiB: ${ten ? `${mib(ten.rssKiB)} MiB` : "–"} → ${goal(ten && ten.rssKiB <= 128 * 1024)}`);
  for (const r of results.filter((x) => x.tool === "rtsync" && x.jobs > 1 && !x.error)) {
    const each = one ? (r.rssKiB - one.rssKiB) / (r.jobs - 1) : undefined;
    lines.push(`- each job beyond the first ≤ 3 MiB (RSS, ${r.jobs} jobs vs 1): ${each === undefined ? "–" : `${mib(each)} MiB`} → ${goal(each === undefined ? undefined : each <= 3 * 1024)}`);
  }
  lines.push(`- 10 jobs: agent + watch processes at rest ≤ 0.05 s CPU/min: ${ten ? `${ten.cpuSecondsPerMinute.toFixed(3)} s (ticks)` : "–"}${ten?.cpuExactSecondsPerMinute === undefined ? "" : `, ${ten.cpuExactSecondsPerMinute.toFixed(3)} s (schedstat, exact)`} → ${goal(ten && (ten.cpuExactSecondsPerMinute ?? ten.cpuSecondsPerMinute) <= 0.05)}`);
  return lines.join("\n");
}

async function main(): Promise<number> {
  const started = await startBench(parseArgs, USAGE, "rtsync-bench-footprint-");
  if (typeof started === "number") return started;
  const { o, root } = started;
  const results: Measured[] = [];
  const machine = describeMachine(REPO);
  try {
    for (const n of o.jobs) await runSize(root, n, o, results);
  } finally {
    await runCleanups();
  }
  const table = renderTables(results);
  const date = new Date().toISOString();
  const jsonPath = o.json ?? join(REPO, "bench", "results", `footprint-${date.replace(/[:.]/g, "-")}.json`);
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify({ date, machine, options: o, table, results }, null, 2)}\n`);
  process.stdout.write(`\nrtsync footprint, ${date.slice(0, 16)}Z, ${String(machine["cores"])} cores, rtsync ${String(machine["rtsyncCommit"])}, lsyncd ${String(machine["lsyncd"])}\n\n${table}\n\nJSON: ${jsonPath}\n`);
  return 0;
}

runBenchMain(main);
