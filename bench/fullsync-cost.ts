// `npm run bench:fullsync -- [--sizes 10000,100000,1000000] [--runs 3] [--dir /dev/shm] [--json FILE]`:
// what a no-change full sync costs at each tree size, and the adaptive default schedule that
// follows from it (src/watch/engine/adaptive-schedule.ts). Trees of small files (bench/tree.ts) on
// a tmpfs, the replica filled once by a full sync, then `runs` full syncs with nothing to do,
// with the watcher's exact arguments (buildFullArgs: --delete-delay, --info=stats2,progress2,
// --out-format) to an rsync daemon on 127.0.0.1. Per run: wall time, the sender's CPU (this
// process's waited-for children: /proc/self/stat cutime+cstime) and the receiver's (the daemon's
// per-connection child, reaped by the daemon: its cutime+cstime). The interval is what the watcher
// would choose from its own estimate (DAEMON_CPU_FACTOR x sender, batch.ts), and the share is the real cost of
// both ends over one period (interval + wall time).
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { buildFullArgs } from "../src/watch/rsync/args.ts";
import { DAEMON_CPU_FACTOR, planAdaptiveInterval } from "../src/watch/engine/adaptive-schedule.ts";
import { BENCH_USER, MODULE, startRsyncDaemon } from "./daemon.ts";
import { readStat, ticksPerSecond } from "./proc.ts";
import { planTree, writeTree } from "./tree.ts";

interface Options {
  sizes: number[];
  runs: number;
  dir: string;
  json?: string;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { sizes: [10_000, 100_000, 1_000_000], runs: 3, dir: "/dev/shm" };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1] ?? "";
    if (argv[i] === "--sizes") o.sizes = value.split(",").map(Number);
    else if (argv[i] === "--runs") o.runs = Number(value);
    else if (argv[i] === "--dir") o.dir = value;
    else if (argv[i] === "--json") o.json = value;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

const cpuOf = (pid: number): number => {
  const s = readStat(pid);
  return s === undefined ? 0 : (s.cutime + s.cstime) / ticksPerSecond();
};

async function run(args: readonly string[]): Promise<{ wall: number; exitCode: number }> {
  const started = performance.now();
  const child = spawn("rsync", args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, LC_ALL: "C" } });
  const exitCode = await new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
  return { wall: (performance.now() - started) / 1000, exitCode };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function measureSize(o: Options, files: number) {
  const dir = await mkdtemp(join(o.dir, `rtsync-fullsync-${files}-`));
  const src = join(dir, "src");
  const dst = join(dir, "dst");
  await mkdir(src);
  await mkdir(dst);
  const daemon = await startRsyncDaemon(dir, dst);
  try {
    const built = await writeTree(src, planTree(files));
    const spec = {
      source: src,
      target: `rsync://${BENCH_USER}@127.0.0.1:${daemon.port}/${MODULE}`,
      daemonTarget: true,
      passwordFile: daemon.passwordFile,
      exclude: [],
      rsyncArgs: [],
    };
    const args = buildFullArgs(spec, { progress: true, itemize: true });
    const fill = await run(args);
    if (fill.exitCode !== 0) throw new Error(`the first full sync of ${files} files exited ${fill.exitCode}`);
    await new Promise((res) => setTimeout(res, 500)); // the daemon reaps the fill's child
    const samples = [];
    for (let i = 0; i < o.runs; i++) {
      const senderBefore = cpuOf(process.pid);
      const receiverBefore = cpuOf(daemon.pid);
      const r = await run(args);
      // The daemon reaps its connection's child just after the client is gone.
      await new Promise((res) => setTimeout(res, 300));
      const sender = cpuOf(process.pid) - senderBefore;
      const receiver = cpuOf(daemon.pid) - receiverBefore;
      if (r.exitCode !== 0) throw new Error(`a no-change full sync of ${files} files exited ${r.exitCode}`);
      samples.push({ wall: r.wall, sender, receiver });
    }
    const wall = median(samples.map((s) => s.wall));
    const sender = median(samples.map((s) => s.sender));
    const receiver = median(samples.map((s) => s.receiver));
    const intervalMs = planAdaptiveInterval(DAEMON_CPU_FACTOR * sender);
    const share = (sender + receiver) / (intervalMs / 1000 + wall);
    const result = {
      files,
      treeBuildSeconds: round(built, 1),
      firstFullSyncSeconds: round(fill.wall, 2),
      noChangeFullSync: { wallSeconds: round(wall), senderCpuSeconds: round(sender), receiverCpuSeconds: round(receiver), cpuSeconds: round(sender + receiver) },
      runs: samples.map((s) => ({ wallSeconds: round(s.wall), senderCpuSeconds: round(s.sender), receiverCpuSeconds: round(s.receiver) })),
      adaptiveIntervalSeconds: intervalMs / 1000,
      averageCpuShareOfOneCore: round(share, 4),
      // A divergence is found by the next full sync: at worst one interval plus the run itself.
      worstRepairSeconds: round(intervalMs / 1000 + wall, 1),
    };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const o = parseOptions(process.argv.slice(2));
const results = [];
for (const size of o.sizes) results.push(await measureSize(o, size));
const doc = {
  bench: "fullsync-cost",
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "?", kernel: release(), dir: o.dir },
  method:
    `no-change full sync with the watcher's arguments to rsync --daemon on 127.0.0.1 (tmpfs trees of 100-200 byte files, 100 per directory); medians of the runs; sender CPU = this process's reaped children, receiver CPU = the daemon's reaped children; interval = clamp(${DAEMON_CPU_FACTOR} x sender CPU / 0.02, 300 s, 900 s); share = (sender + receiver CPU) / (interval + wall)`,
  results,
};
if (o.json !== undefined) await writeFile(o.json, `${JSON.stringify(doc, null, 2)}\n`);
