import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup } from "./cleanup.ts";
import { BENCH_USER, MODULE, findFreePort } from "./daemon.ts";
import { readStat, readTree, stopTree, ticksPerSecond } from "./proc.ts";
import { RTSYNC_BIN, rtsyncEnv, runCli } from "./peers/rtsync.ts";

// Shared by the benchmarks of issue 20 (footprint, startup, isolation): a node of N watch jobs
// pushing to one bench-started `rsync --daemon` (each job to its own path of the module), run by
// `rtsync agent` or `rtsync apply`, and lsyncd's default.rsync with the same syncs. rtsync's
// processes are found whatever their layout (one `__watch` per job today, one `__host` per
// stateDir later): the trees under the given roots (the agent) plus every process whose
// environment carries rtsync's marker for the stateDir (src/resources/process/markers.ts) or whose
// command line names a file of the stateDir, without the rsync processes (daemons, transfers).

export interface WatchJob {
  readonly name: string;
  readonly source: string;
  /** the path inside the daemon's module, e.g. "rtsync/job01" */
  readonly modulePath: string;
}

export interface NodeManifestInput {
  readonly stateDir: string;
  readonly passwordFile: string;
  readonly port: number;
  readonly jobs: readonly WatchJob[];
}

/** A manifest (JSON, which is YAML) of watch jobs only: the daemon is the bench's. */
export function renderNodeManifest(m: NodeManifestInput): string {
  const watches: Record<string, unknown> = {};
  for (const job of m.jobs) {
    watches[job.name] = {
      source: job.source,
      target: `rsync://${BENCH_USER}@127.0.0.1:${m.port}/${MODULE}/${job.modulePath}`,
      fullSync: { schedule: "0 0 1 1 *" },
    };
  }
  const manifest = { version: 1, stateDir: m.stateDir, users: { [BENCH_USER]: { password: { file: m.passwordFile } } }, watches };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const lua = (s: string): string => JSON.stringify(s);

/** lsyncd's stock default.rsync, one sync{} per job, to the same daemon and module paths. */
export function renderLsyncdNodeConfig(workDir: string, jobs: readonly WatchJob[], daemon: { port: number; passwordFile: string }, delay = 0): string {
  return [
    "settings {",
    `  logfile = ${lua(join(workDir, "lsyncd.log"))},`,
    `  statusFile = ${lua(join(workDir, "lsyncd.status"))},`,
    "  nodaemon = true,",
    "}",
    ...jobs.flatMap((job) => [
      "sync {",
      "  default.rsync,",
      `  source = ${lua(job.source)},`,
      `  target = ${lua(`${BENCH_USER}@127.0.0.1::${MODULE}/${job.modulePath}/`)},`,
      `  delay = ${delay},`,
      "  rsync = {",
      "    archive = true,",
      `    password_file = ${lua(daemon.passwordFile)},`,
      `    _extra = { ${lua(`--port=${daemon.port}`)} },`,
      "  },",
      "}",
    ]),
    "",
  ].join("\n");
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

const MARK = "RTSYNC_STATE_DIR=";

/** Whether process `pid` is marked as rtsync's for `stateDir` (environment or command line). */
function markedFor(pid: string, stateDir: string): boolean {
  const argv = readText(`/proc/${pid}/cmdline`).split("\0");
  if (argv.some((a) => a === "__watch" || a === "__host") && argv.some((a) => a.startsWith(`${stateDir}/`) || a === stateDir)) return true;
  return readText(`/proc/${pid}/environ`).split("\0").includes(`${MARK}${stateDir}`);
}

/** rsync itself (a daemon, its per-connection child, a transfer): not counted as rtsync's. */
function isRsync(pid: number): boolean {
  const s = readStat(pid);
  return s === undefined || s.comm === "rsync";
}

/** rtsync's live processes for `stateDir`: the trees under `roots` and every marked process's tree, rsync left out. */
export function findRtsyncProcesses(stateDir: string, roots: readonly number[]): number[] {
  const marked: number[] = [];
  for (const name of readdirSync("/proc")) if (/^\d+$/.test(name) && Number(name) !== process.pid && markedFor(name, stateDir)) marked.push(Number(name));
  return readTree([...roots, ...marked]).filter((pid) => !isRsync(pid)).sort((a, b) => a - b);
}

/** lsyncd's processes: its tree, rsync left out. */
export function findTreeProcesses(roots: readonly number[]): number[] {
  return readTree(roots).filter((pid) => !isRsync(pid)).sort((a, b) => a - b);
}

export interface ProcessFigures {
  readonly pid: number;
  readonly comm: string;
  /** the command line, shortened to what tells the processes apart */
  readonly cmd: string;
  readonly rssKiB: number;
  readonly pssKiB: number;
  /** own utime+stime so far, seconds (clock ticks: a process that wakes briefly once a second can be charged whole 10 ms ticks) */
  readonly cpuSeconds: number;
  /** own CPU time so far from the scheduler (/proc/PID/task/TID/schedstat, nanoseconds summed over threads), seconds; undefined where the kernel has no schedstat */
  readonly cpuExactSeconds: number | undefined;
}

// The scheduler's own account of a process's CPU time: exact, where utime/stime are sampled per tick.
function schedCpuSeconds(pid: number): number | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const t of tasks) {
    const first = readText(`/proc/${pid}/task/${t}/schedstat`).split(" ")[0];
    if (first === undefined || first === "") return undefined;
    ns += Number(first);
  }
  return ns / 1e9;
}

function shortCommand(pid: number): string {
  const argv = readText(`/proc/${pid}/cmdline`).split("\0").filter((a) => a !== "");
  const i = argv.findIndex((a) => a === "__watch" || a === "__host" || a === "agent");
  const shown = i >= 0 ? argv.slice(i) : argv.slice(0, 3);
  return shown.map((a) => (a.length > 60 ? `…${a.slice(-57)}` : a)).join(" ");
}

export function readProcessFigures(pid: number): ProcessFigures | undefined {
  const s = readStat(pid);
  if (!s) return undefined;
  const status = readText(`/proc/${pid}/status`);
  const rollup = readText(`/proc/${pid}/smaps_rollup`);
  return {
    pid,
    comm: s.comm,
    cmd: shortCommand(pid),
    rssKiB: Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0),
    pssKiB: Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0),
    cpuSeconds: (s.utime + s.stime) / ticksPerSecond(),
    cpuExactSeconds: schedCpuSeconds(pid),
  };
}

/** Sessions of the daemon log for one module path: how many started, how many logged their totals. */
export function sessionsOf(logText: string, modulePath: string): { started: number; closed: number } {
  const starts = new Set<number>();
  let closed = 0;
  const to = `${MODULE}/${modulePath}`.replace(/\/+$/, "");
  for (const line of logText.split("\n")) {
    const start = /\[(\d+)\] rsync (?:to|on) (\S+)/.exec(line);
    if (start && (start[2] ?? "").replace(/\/+$/, "") === to) starts.add(Number(start[1]));
    const end = /\[(\d+)\] sent \d+ bytes\s+received \d+ bytes\s+total size/.exec(line);
    if (end && starts.has(Number(end[1]))) closed++;
  }
  return { started: starts.size, closed };
}

/** The daemon log from byte `offset` on. */
export async function logSince(path: string, offset: number): Promise<string> {
  return (await readFile(path).catch(() => Buffer.alloc(0))).subarray(offset).toString("utf8");
}

/** Polls until `check` holds; the milliseconds it took, or null after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 10): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check()) return performance.now() - t0;
    await sleep(stepMs);
  }
  return null;
}

export interface RtsyncNode {
  readonly manifestPath: string;
  readonly stateDir: string;
  /** the agent's pid (0: none, the node was applied) */
  agentPid(): number;
  processes(): number[];
  /** `rtsync apply` of the manifest as it is now; resolves with its exit code and output */
  apply(): Promise<{ code: number; output: string }>;
  startAgent(): Promise<void>;
  stop(): Promise<void>;
}

/** A node of rtsync for `manifestPath` (written by the caller); stopped by `rtsync down` and by pid. */
export function rtsyncNode(manifestPath: string, stateDir: string): RtsyncNode {
  let agent: ReturnType<typeof spawn> | undefined;
  const seen = new Set<number>();
  const processes = (): number[] => {
    const found = findRtsyncProcesses(stateDir, agent?.pid ? [agent.pid] : []);
    for (const pid of found) seen.add(pid);
    return found;
  };
  const stop = async (): Promise<void> => {
    processes();
    if (agent?.pid && agent.exitCode === null) {
      const exited = new Promise<void>((r) => agent?.once("exit", () => r()));
      agent.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
    }
    await runCli(["down", manifestPath]);
    // what is left of what we saw, by pid
    for (const pid of seen) await stopTree(pid, { graceMs: 2000 });
    agent = undefined;
    unregister();
  };
  const unregister = onCleanup(stop);
  return {
    manifestPath,
    stateDir,
    agentPid: () => agent?.pid ?? 0,
    processes,
    apply: async () => {
      const r = await runCli(["apply", manifestPath]);
      processes();
      return r;
    },
    async startAgent() {
      const port = await findFreePort();
      agent = spawn(process.execPath, [RTSYNC_BIN, "agent", manifestPath, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"], env: rtsyncEnv() });
      let stderr = "";
      agent.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-2000)));
      const ok = await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 120_000, 100);
      processes();
      if (ok === null) throw new Error(`the agent did not converge within 120 s: ${stderr.trim().split("\n").slice(-3).join(" / ")}`);
    },
    stop,
  };
}

/** lsyncd with `config`, its own process group; stopped by pid. */
export function startLsyncd(config: string): { pid: number; stop: () => Promise<void> } {
  const child = spawn("lsyncd", [config], { stdio: "ignore", detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start lsyncd");
  child.unref();
  const unregister = onCleanup(() => stopTree(pid, { group: true }));
  const stop = async (): Promise<void> => {
    await stopTree(pid, { group: true });
    unregister();
  };
  return { pid, stop };
}

export async function writeManifest(path: string, input: NodeManifestInput): Promise<void> {
  await writeFile(path, renderNodeManifest(input));
}
