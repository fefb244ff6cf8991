// `npm run bench:targets`: issue 14's measurements of `targets` (one watch, several replicas),
// against one rsync daemon per target on 127.0.0.1 that this benchmark starts itself. Not a test:
// nothing here fails on a number. Prints two Markdown tables, writes every sample as JSON.
//
// - stopped: target B's daemon is SIGSTOPped ("frozen": it accepts, never answers) or killed while
//   single-file writes happen (each after the pushes to A were quiet 300 ms); close → the file on
//   the healthy replica A (stat polled every 1 ms), for one rtsync watch with targets [A, B],
//   against the same watch with target A alone, and one lsyncd (delay 0) with a sync{} to A and
//   one to B. Then B comes back: resume → every change on B, and what B's daemon received,
//   against the floor (one rsync of exactly the changed files to B).
// - footprint: RSS of the watchers' process trees once the initial syncs settled, and their CPU
//   while files are written one at a time (10 ms apart), for one watch with k targets against
//   k watches of one target each (the same source), k = 1, 2, 4.
//
// After every session each replica must equal the source (`rsync -anc --delete --itemize-changes`
// prints nothing), else the table says DATA LOSS.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { readInventory } from "../src/state/inventory.ts";
import { installSignalCleanup, onCleanup, runCleanups } from "./cleanup.ts";
import { BENCH_USER, MODULE, logSize, readSessionsSince, startRsyncDaemon, waitSessionsClosed, type RsyncDaemon } from "./daemon.ts";
import { sumReceived } from "./daemon-log.ts";
import { runFloor } from "./driver.ts";
import { TreeMonitor } from "./monitor.ts";
import { createLsyncdPeer, lsyncdVersion } from "./peers/lsyncd.ts";
import { RTSYNC_BIN, runCli } from "./peers/rtsync.ts";
import { isAlive, readTreeCpuSeconds, readTreeRssByProcess, readTreeRssKiB, readWatcherCpuSeconds, stopTree } from "./proc.ts";
import { QUIET_MS, waitAll } from "./scenarios.ts";
import { median } from "./stats.ts";
import { STOP_MODES, renderReport, type FootprintLayout, type FootprintRecord, type StopMode, type StoppedRecord, type StoppedTool, type TargetsDoc, type TargetsRecord, type VerifySummary } from "./targets-report.ts";
import { planTree, writeTree, type TreeLayout } from "./tree.ts";
import { runVerify } from "./verify.ts";
import { describeMachine } from "./machine.ts";
import { readWatcherStatus } from "../src/state/watcher-status.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const PARTS = ["stopped", "footprint"] as const;
type Part = (typeof PARTS)[number];

const USAGE = `usage: npm run bench:targets -- [options]
  --sizes 10000          tree sizes in files (~100 per directory)
  --runs 3               runs of every session (latency samples are pooled, the rest are medians)
  --parts LIST           ${PARTS.join(",")}
  --modes LIST           how target B is stopped: ${STOP_MODES.join(",")}
  --writes 30            single-file writes while B is stopped
  --ks 1,2,4             targets per watch / watches of one target, in the footprint part
  --cpu-files 300        files written (10 ms apart) while the footprint's CPU is measured
  --json FILE            results (default bench/results/targets-<date>.json)
  --dir DIR              where the temp trees go (default: the OS temp dir)
  --keep                 keep the temp trees
  --quick                smoke check: 2,000 files, 1 run, 10 writes, 100 files (~2 minutes)
  --table FILE.json      print the tables of an earlier result file, run nothing`;

interface Options {
  sizes: number[];
  runs: number;
  parts: Part[];
  modes: StopMode[];
  writes: number;
  ks: number[];
  cpuFiles: number;
  json: string | undefined;
  dir: string;
  keep: boolean;
  quick: boolean;
  table: string | undefined;
}

function parseOptions(argv: readonly string[]): Options | "help" {
  const o: Options = {
    sizes: [10_000], runs: 3, parts: [...PARTS], modes: [...STOP_MODES], writes: 30, ks: [1, 2, 4], cpuFiles: 300,
    json: undefined, dir: tmpdir(), keep: false, quick: false, table: undefined,
  };
  const explicit = new Set<string>();
  const list = <T extends string>(v: string, allowed: readonly T[], flag: string): T[] => {
    const items = v.split(",").filter((s) => s !== "");
    const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (bad.length > 0) throw new Error(`${flag}: unknown ${bad.join(", ")} (known: ${allowed.join(", ")})`);
    return items as T[];
  };
  const numbers = (v: string, flag: string): number[] => {
    const ns = v.split(",").map((s) => Number(s.replace(/_/g, "")));
    if (ns.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`${flag} needs positive whole numbers, got "${v}"`);
    return ns;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--help" || flag === "-h") return "help";
    if (flag === "--keep") { o.keep = true; continue; }
    if (flag === "--quick") { o.quick = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    explicit.add(flag);
    const one = (): number => numbers(v, flag)[0] as number;
    switch (flag) {
      case "--sizes": o.sizes = numbers(v, flag); break;
      case "--runs": o.runs = one(); break;
      case "--parts": o.parts = list(v, PARTS, flag); break;
      case "--modes": o.modes = list(v, STOP_MODES, flag); break;
      case "--writes": o.writes = one(); break;
      case "--ks": o.ks = numbers(v, flag); break;
      case "--cpu-files": o.cpuFiles = one(); break;
      case "--json": o.json = v; break;
      case "--dir": o.dir = v; break;
      case "--table": o.table = v; break;
      default: throw new Error(`unknown option "${flag}"\n${USAGE}`);
    }
  }
  if (o.quick) {
    if (!explicit.has("--sizes")) o.sizes = [2_000];
    if (!explicit.has("--runs")) o.runs = 1;
    if (!explicit.has("--writes")) o.writes = 10;
    if (!explicit.has("--cpu-files")) o.cpuFiles = 100;
  }
  if (!o.ks.includes(1)) o.ks = [1, ...o.ks];
  o.ks = [...new Set(o.ks)].sort((a, b) => a - b);
  return o;
}

const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
const now = (): number => performance.now();
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const fileSize = (path: string): number | undefined => statSync(path, { throwIfNoEntry: false })?.size;
const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

const machine = (): Record<string, unknown> => describeMachine(REPO);

/** The daemons of one tree: daemon i serves replica i; B (index 1) is the one that gets stopped. */
interface Bed {
  readonly base: string;
  readonly source: string;
  readonly layout: TreeLayout;
  readonly replicas: readonly string[];
  readonly daemonDirs: readonly string[];
  /** replaced when a killed daemon is started again */
  readonly daemons: RsyncDaemon[];
}

async function localSync(from: string, to: string): Promise<void> {
  const child = spawn("rsync", ["-a", "--delete", `${from}/`, `${to}/`], { stdio: "ignore" });
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  if (code !== 0) throw new Error(`rsync -a --delete ${from}/ ${to}/ exited ${code}`);
}

// Puts the source back (what a session created is removed) and every replica equal to it again.
async function restore(bed: Bed, created: readonly string[]): Promise<void> {
  for (const rel of created) rmSync(join(bed.source, rel), { recursive: true, force: true });
  for (const r of bed.replicas) await localSync(bed.source, r);
}

async function verifyReplicas(bed: Bed, indexes: readonly number[]): Promise<VerifySummary[]> {
  const out: VerifySummary[] = [];
  for (const i of indexes) {
    const v = await runVerify(bed.source, bed.replicas[i] as string);
    const replica = String.fromCharCode(65 + i);
    if (!v.ok) log(`  DATA LOSS on replica ${replica}: ${v.sample.slice(0, 5).join(" | ")}`);
    out.push({ replica, ok: v.ok, sample: v.sample });
  }
  return out;
}

/** Does this process's command line push to the daemon on `port` (rtsync's URL or lsyncd's --port)? */
function talksTo(pid: number, port: number): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  return args.some((a) => a === `--port=${port}` || a.includes(`127.0.0.1:${port}/`));
}

const url = (d: RsyncDaemon): string => `rsync://${BENCH_USER}@127.0.0.1:${d.port}/${MODULE}`;

interface Running {
  readonly roots: () => readonly number[];
  readonly stateDir?: string;
  stop(): Promise<void>;
}

/** rtsync through its CLI: one manifest with these watches (name → its daemons), `apply`, `down`. */
async function startRtsync(work: string, source: string, watches: Record<string, readonly RsyncDaemon[]>, passwordFile: string): Promise<Running> {
  const stateDir = join(work, "state");
  const manifest = join(work, "rtsync.yaml");
  await mkdir(stateDir, { recursive: true });
  const doc = {
    version: 1,
    stateDir,
    users: { [BENCH_USER]: { password: { file: passwordFile } } },
    watches: Object.fromEntries(
      Object.entries(watches).map(([name, ds]) => [
        name,
        { source, ...(ds.length === 1 ? { target: url(ds[0] as RsyncDaemon) } : { targets: ds.map(url) }), fullSync: { schedule: "0 0 1 1 *" } },
      ]),
    ),
  };
  await writeFile(manifest, `${JSON.stringify(doc, null, 2)}\n`);
  const seen = new Set<number>();
  const remember = async (): Promise<void> => {
    const inv = await readInventory(stateDir).catch(() => undefined);
    for (const w of Object.values(inv?.watchers ?? {})) seen.add(w.pid);
  };
  const stop = async (): Promise<void> => {
    await remember();
    const r = await runCli(["down", manifest]);
    for (const pid of seen) if (isAlive(pid)) await stopTree(pid);
    if (r.code !== 0) throw new Error(`rtsync down exited ${r.code}: ${r.output.trim()}`);
  };
  const unregister = onCleanup(stop);
  const r = await runCli(["apply", manifest]);
  await remember();
  if (r.code !== 0) {
    await stop().catch(() => undefined);
    unregister();
    throw new Error(`rtsync apply exited ${r.code}: ${r.output.trim().split("\n").slice(-3).join(" / ")}`);
  }
  const inv = await readInventory(stateDir);
  const pids = Object.keys(watches).map((name) => {
    const pid = inv.watchers[name]?.pid;
    if (pid === undefined || pid <= 0) throw new Error(`rtsync apply recorded no running watcher for ${name}`);
    return pid;
  });
  return {
    roots: () => pids,
    stateDir,
    stop: async () => {
      unregister();
      await stop();
    },
  };
}

async function startLsyncd(work: string, bed: Bed, daemons: readonly RsyncDaemon[]): Promise<Running> {
  await mkdir(work, { recursive: true });
  const peer = createLsyncdPeer({ source: bed.source, replica: bed.replicas[0] as string, workDir: work, daemon: daemons[0] as RsyncDaemon }, 0, daemons);
  await peer.prepare();
  await peer.start();
  return { roots: () => peer.roots(), stop: () => peer.stop() };
}

/** A probe file in the source root, on every replica of `indexes`; then no rsync for QUIET_MS. */
async function waitReady(bed: Bed, indexes: readonly number[], tag: string, created: string[], monitor: TreeMonitor, timeoutMs: number): Promise<void> {
  const rel = `probe-${tag}`;
  created.push(rel);
  writeFileSync(join(bed.source, rel), "probe\n");
  const there = await waitAll(indexes.map((i) => () => fileSize(join(bed.replicas[i] as string, rel)) !== undefined), timeoutMs, 5);
  if (there === null) throw new Error(`the probe was not on every replica ${timeoutMs / 1000} s after the start`);
  if ((await monitor.waitQuiet(there, QUIET_MS, 60_000)) === null) throw new Error("still running rsync 60 s after the initial sync");
}

async function stopB(bed: Bed, mode: StopMode): Promise<void> {
  const b = bed.daemons[1] as RsyncDaemon;
  if (mode === "frozen") process.kill(b.pid, "SIGSTOP");
  else await b.stop();
}

async function resumeB(bed: Bed, mode: StopMode): Promise<void> {
  const b = bed.daemons[1] as RsyncDaemon;
  if (mode === "frozen") process.kill(b.pid, "SIGCONT");
  else if (!isAlive(b.pid)) bed.daemons[1] = await startRsyncDaemon(bed.daemonDirs[1] as string, bed.replicas[1] as string, { port: b.port });
}

/** The latency files: `n` single-file writes spread over the tree. */
function latencyPaths(bed: Bed, tag: string, n: number): string[] {
  const dirs = bed.layout.dirs;
  return Array.from({ length: n }, (_, i) => `${dirs[(i * 7919) % dirs.length]}/lat-${tag}-${i}.txt`);
}
const latencyContent = (tag: string, i: number): string => `latency probe ${i} of ${tag}\n`.repeat(3);

// One session of the stopped-target part: `tool` pushes to A (and B), B is stopped while the
// single-file writes happen, then resumed.
async function runStopped(bed: Bed, o: Options, size: number, run: number, tool: Exclude<StoppedTool, "floor">, mode: StopMode | undefined): Promise<StoppedRecord> {
  const tag = `${tool}-${mode ?? "none"}-${run}`;
  const two = tool.endsWith("-2");
  const targets = two ? [0, 1] : [0];
  const daemons = targets.map((i) => bed.daemons[i] as RsyncDaemon);
  const created: string[] = [];
  const work = join(bed.base, `work-${tag}`);
  const load0 = load();
  const latency: (number | null)[] = [];
  const detail: Record<string, unknown> = {};
  let verify: VerifySummary[] = [];
  let catchUp: Pick<StoppedRecord, "catchUpSec" | "catchUpRuns" | "catchUpKiB"> = {};
  let error: string | undefined;
  let running: Running | undefined;
  let stopped = false;
  const a = bed.daemons[0] as RsyncDaemon;
  const roots = (): readonly number[] => running?.roots() ?? [];
  const all = new TreeMonitor(roots);
  const toA = new TreeMonitor(roots, 5, (pid, comm) => comm === "rsync" && talksTo(pid, a.port));
  try {
    running = tool.startsWith("rtsync")
      ? await startRtsync(work, bed.source, { push: daemons }, a.passwordFile)
      : await startLsyncd(work, bed, daemons);
    all.start();
    toA.start();
    await waitReady(bed, targets, tag, created, all, 120_000 + size / 5);
    if (two && mode) {
      await stopB(bed, mode);
      stopped = true;
    }
    const paths = latencyPaths(bed, tag, o.writes);
    for (const [i, rel] of paths.entries()) {
      await toA.waitQuiet(now(), 300, 60_000);
      const content = latencyContent(tag, i);
      created.push(rel);
      writeFileSync(join(bed.source, rel), content);
      const closed = now();
      const target = join(bed.replicas[0] as string, rel);
      const seen = await waitAll([() => fileSize(target) === content.length], 30_000);
      latency.push(seen === null ? null : (seen - closed) / 1000);
    }
    await toA.waitQuiet(now(), 300, 60_000);
    verify = await verifyReplicas(bed, [0]);
    if (two && mode && running.stateDir) {
      // what `rtsync status` reads: the lagging lane, named
      const status = await readWatcherStatus(join(running.stateDir, "watches", "push")).catch(() => undefined);
      detail["lanesWhileStopped"] = status?.targets?.map((t) => ({ target: t.target, pending: t.pending, behindSince: t.behindSince, healthy: t.healthy }));
    }
    if (two && mode) {
      const b = bed.daemons[1] as RsyncDaemon;
      const mark = await logSize(b.logPath);
      const t0 = now();
      await resumeB(bed, mode);
      stopped = false;
      const replicaB = bed.replicas[1] as string;
      const caught = await waitAll(paths.map((rel, i) => () => fileSize(join(replicaB, rel)) === latencyContent(tag, i).length), 120_000);
      const idle = await all.waitQuiet(caught ?? now(), QUIET_MS, 60_000);
      await waitSessionsClosed(b.logPath, mark, 3000);
      const sessions = await readSessionsSince(b.logPath, mark);
      catchUp = { catchUpSec: caught === null ? null : (caught - t0) / 1000, catchUpRuns: sessions.length, catchUpKiB: sumReceived(sessions) / 1024 };
      if (idle === null) detail["busyAfterCatchUp"] = true;
      verify = [...verify, ...(await verifyReplicas(bed, [1]))];
    }
  } catch (e) {
    error = errorText(e);
    log(`  error: ${error}`);
  } finally {
    all.stop();
    toA.stop();
    if (stopped && mode) await resumeB(bed, mode).catch((e: unknown) => (error ??= `resuming B: ${errorText(e)}`));
    await running?.stop().catch((e: unknown) => (error ??= `stopping: ${errorText(e)}`));
    await restore(bed, created).catch((e: unknown) => (error ??= `restoring: ${errorText(e)}`));
  }
  return {
    part: "stopped", size, run, tool, ...(mode && two ? { mode } : {}), latency, ...catchUp, verify,
    loadavg: [...load0, ...load()], detail, ...(error ? { error } : {}),
  };
}

// The floor for the returning target: B lacks exactly the files the writes created; one rsync of
// them (an include list, TCP_NODELAY), spawn → exit, and what B's daemon received.
async function runFloorCatchUp(bed: Bed, o: Options, size: number, run: number): Promise<StoppedRecord> {
  const tag = `floor-${run}`;
  const created: string[] = [];
  const b = bed.daemons[1] as RsyncDaemon;
  const load0 = load();
  let error: string | undefined;
  let verify: VerifySummary[] = [];
  let catchUp: Pick<StoppedRecord, "catchUpSec" | "catchUpRuns" | "catchUpKiB"> = {};
  try {
    const paths = latencyPaths(bed, tag, o.writes);
    for (const [i, rel] of paths.entries()) {
      created.push(rel);
      writeFileSync(join(bed.source, rel), latencyContent(tag, i));
    }
    const mark = await logSize(b.logPath);
    const t0 = now();
    const r = await runFloor({ source: bed.source, port: b.port, passwordFile: b.passwordFile }, paths.map((path) => ({ path, kind: "file" as const })));
    if (r.exitCode !== 0) throw new Error(`floor rsync exited ${r.exitCode}: ${r.stderr.trim()}`);
    await waitSessionsClosed(b.logPath, mark, 3000);
    const sessions = await readSessionsSince(b.logPath, mark);
    catchUp = { catchUpSec: (r.endedAt - t0) / 1000, catchUpRuns: sessions.length, catchUpKiB: sumReceived(sessions) / 1024 };
    verify = await verifyReplicas(bed, [1]);
  } catch (e) {
    error = errorText(e);
    log(`  error: ${error}`);
  } finally {
    await restore(bed, created).catch((e: unknown) => (error ??= `restoring: ${errorText(e)}`));
  }
  return { part: "stopped", size, run, tool: "floor", latency: [], ...catchUp, verify, loadavg: [...load0, ...load()], ...(error ? { error } : {}) };
}

// One session of the footprint part: k targets of one watch, or k watches of one target each.
async function runFootprint(bed: Bed, o: Options, size: number, run: number, layout: FootprintLayout, k: number): Promise<FootprintRecord> {
  const tag = `fp-${layout}-${k}-${run}`;
  const indexes = Array.from({ length: k }, (_, i) => i);
  const daemons = indexes.map((i) => bed.daemons[i] as RsyncDaemon);
  const watches: Record<string, readonly RsyncDaemon[]> = layout === "targets" ? { push: daemons } : Object.fromEntries(daemons.map((d, i) => [`push${i}`, [d]]));
  const created: string[] = [];
  const load0 = load();
  let running: Running | undefined;
  const monitor = new TreeMonitor(() => running?.roots() ?? []);
  let error: string | undefined;
  let result: Pick<FootprintRecord, "rssMiB" | "cpuSec" | "watcherCpuSec" | "runs"> = { rssMiB: Number.NaN, cpuSec: Number.NaN, watcherCpuSec: Number.NaN, runs: 0 };
  let verify: VerifySummary[] = [];
  const detail: Record<string, unknown> = {};
  try {
    running = await startRtsync(join(bed.base, `work-${tag}`), bed.source, watches, (bed.daemons[0] as RsyncDaemon).passwordFile);
    monitor.start();
    await waitReady(bed, indexes, tag, created, monitor, 120_000 + size / 5);
    const roots = running.roots();
    const rss: number[] = [];
    for (let i = 0; i < 5; i++) {
      rss.push(readTreeRssKiB(roots) / 1024);
      await sleep(200);
    }
    detail["rssKiBByProcess"] = readTreeRssByProcess(roots);
    const marks = await Promise.all(daemons.map((d) => logSize(d.logPath)));
    const cpu0 = readTreeCpuSeconds(roots);
    const w0 = readWatcherCpuSeconds(roots);
    const dir = `cpu-${tag}`;
    created.push(dir);
    mkdirSync(join(bed.source, dir));
    const names = Array.from({ length: o.cpuFiles }, (_, i) => `${dir}/c${String(i).padStart(4, "0")}.txt`);
    const first = now();
    for (const [i, rel] of names.entries()) {
      writeFileSync(join(bed.source, rel), latencyContent(tag, i));
      await sleep(10);
    }
    detail["writeSec"] = (now() - first) / 1000;
    const last = now();
    const there = await waitAll(
      indexes.flatMap((r) => names.map((rel, i) => () => fileSize(join(bed.replicas[r] as string, rel)) === latencyContent(tag, i).length)),
      120_000,
      5,
    );
    if (there === null) throw new Error("the written files were not on every replica within 120 s");
    detail["lastWriteToReplicasSec"] = (there - last) / 1000;
    if ((await monitor.waitQuiet(there, QUIET_MS, 60_000)) === null) detail["busyAtEnd"] = true;
    const cpuSec = readTreeCpuSeconds(roots) - cpu0;
    const watcherCpuSec = readWatcherCpuSeconds(roots) - w0;
    let runs = 0;
    for (const [i, d] of daemons.entries()) {
      await waitSessionsClosed(d.logPath, marks[i] as number, 3000);
      runs += (await readSessionsSince(d.logPath, marks[i] as number)).length;
    }
    result = { rssMiB: median(rss) ?? Number.NaN, cpuSec, watcherCpuSec, runs };
    verify = await verifyReplicas(bed, indexes);
  } catch (e) {
    error = errorText(e);
    log(`  error: ${error}`);
  } finally {
    monitor.stop();
    await running?.stop().catch((e: unknown) => (error ??= `stopping: ${errorText(e)}`));
    await restore(bed, created).catch((e: unknown) => (error ??= `restoring: ${errorText(e)}`));
  }
  return { part: "footprint", size, run, layout, k, ...result, files: o.cpuFiles, verify, loadavg: [...load0, ...load()], detail, ...(error ? { error } : {}) };
}

async function benchSize(root: string, size: number, o: Options, records: TargetsRecord[]): Promise<void> {
  const base = await mkdtemp(join(root, `rtsync-bench-targets-${size}-`));
  await chmod(base, 0o755);
  const unregisterTemp = o.keep ? () => {} : onCleanup(() => rm(base, { recursive: true, force: true }));
  const source = join(base, "source");
  const layout = planTree(size);
  log(`${size.toLocaleString("en-US")} files: building the source tree`);
  await mkdir(source, { recursive: true, mode: 0o755 });
  const built = await writeTree(source, layout);
  const n = Math.max(2, ...(o.parts.includes("footprint") ? o.ks : []));
  const replicas = Array.from({ length: n }, (_, i) => join(base, `replica-${String.fromCharCode(65 + i)}`));
  const daemonDirs = replicas.map((r) => `${r}.daemon`);
  log(`  built in ${built.toFixed(1)} s; ${n} replicas and daemons`);
  const daemons: RsyncDaemon[] = [];
  const unregisterDaemons = onCleanup(async () => {
    for (const d of daemons) {
      if (isAlive(d.pid)) process.kill(d.pid, "SIGCONT");
      await d.stop();
    }
  });
  const bed: Bed = { base, source, layout, replicas, daemonDirs, daemons };
  try {
    for (const [i, r] of replicas.entries()) {
      await mkdir(r, { mode: 0o755 });
      await mkdir(daemonDirs[i] as string);
      await localSync(source, r);
      daemons.push(await startRsyncDaemon(daemonDirs[i] as string, r));
    }
    spawnSync("sync", [], { stdio: "ignore" });
    const lsyncd = lsyncdVersion() !== undefined;
    if (!lsyncd) log("  lsyncd is not installed (apt-get install lsyncd): its sessions are skipped");
    for (let run = 1; run <= o.runs; run++) {
      if (o.parts.includes("stopped")) {
        const sessions: [Exclude<StoppedTool, "floor">, StopMode | undefined][] = [["rtsync-1", undefined]];
        if (lsyncd) sessions.push(["lsyncd-1", undefined]);
        for (const mode of o.modes) {
          sessions.push(["rtsync-2", mode]);
          if (lsyncd) sessions.push(["lsyncd-2", mode]);
        }
        // a different order each run, so no session always follows the same one
        const shift = (run - 1) % sessions.length;
        for (const [tool, mode] of [...sessions.slice(shift), ...sessions.slice(0, shift)]) {
          log(`${size.toLocaleString("en-US")} files, run ${run}/${o.runs}: ${tool}${mode ? `, B ${mode}` : ""}`);
          const r = await runStopped(bed, o, size, run, tool, mode);
          const lat = r.latency.filter((x): x is number => x !== null);
          log(`  A: p50 ${(median(lat) ?? NaN).toFixed(3)} s${r.catchUpSec !== undefined ? `; B caught up ${r.catchUpSec?.toFixed(3) ?? "never"} s, ${r.catchUpRuns} runs, ${r.catchUpKiB?.toFixed(1)} KiB` : ""}`);
          records.push(r);
        }
        log(`${size.toLocaleString("en-US")} files, run ${run}/${o.runs}: floor`);
        const f = await runFloorCatchUp(bed, o, size, run);
        log(`  floor ${f.catchUpSec?.toFixed(3)} s, ${f.catchUpKiB?.toFixed(1)} KiB`);
        records.push(f);
      }
      if (o.parts.includes("footprint")) {
        const sessions: [FootprintLayout, number][] = [];
        for (const k of o.ks) for (const layout of k === 1 ? (["targets"] as const) : (["targets", "watches"] as const)) sessions.push([layout, k]);
        const shift = (run - 1) % sessions.length;
        for (const [layout, k] of [...sessions.slice(shift), ...sessions.slice(0, shift)]) {
          log(`${size.toLocaleString("en-US")} files, run ${run}/${o.runs}: footprint, ${layout === "targets" ? `1 watch × ${k} targets` : `${k} watches × 1 target`}`);
          const r = await runFootprint(bed, o, size, run, layout, k);
          log(`  RSS ${r.rssMiB.toFixed(1)} MiB, CPU ${r.cpuSec.toFixed(2)} s (rsync excluded ${r.watcherCpuSec.toFixed(2)} s), ${r.runs} runs`);
          records.push(r);
        }
      }
    }
  } finally {
    for (const d of daemons) {
      if (isAlive(d.pid)) process.kill(d.pid, "SIGCONT");
      await d.stop();
    }
    unregisterDaemons();
    if (!o.keep) {
      await rm(base, { recursive: true, force: true });
      unregisterTemp();
    }
  }
}

async function main(): Promise<number> {
  let o: Options | "help";
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench:targets: ${errorText(e)}\n`);
    return 2;
  }
  if (o === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (o.table !== undefined) {
    process.stdout.write(renderReport(JSON.parse(await readFile(o.table, "utf8")) as TargetsDoc));
    return 0;
  }
  if (!existsSync(RTSYNC_BIN)) {
    process.stderr.write(`bench:targets: ${RTSYNC_BIN} is missing (npm run build)\n`);
    return 2;
  }
  installSignalCleanup();
  const records: TargetsRecord[] = [];
  const date = new Date().toISOString();
  const loadStart = load();
  for (const s of o.sizes) await benchSize(o.dir, s, o, records);
  const doc: TargetsDoc = { date, machine: { ...machine(), loadavgStart: loadStart, loadavgEnd: load() }, options: { ...o }, records };
  const out = o.json ?? join(REPO, "bench/results", `targets-${date.slice(0, 19).replace(/:/g, "")}.json`);
  await mkdir(join(out, ".."), { recursive: true });
  await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(renderReport(doc));
  log(`samples: ${out}`);
  return records.some((r) => r.error || r.verify.some((v) => !v.ok)) ? 1 : 0;
}

main()
  .then((code) => (process.exitCode = code))
  .catch((e: unknown) => {
    process.stderr.write(`bench:targets: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
