// `npm run bench:isolation` (issue 20): does a storm in one job slow another job of the same node?
// Two watch jobs, A and B, on one rtsync node (`rtsync apply`; each pushes to its own path of one
// bench-started `rsync --daemon` on 127.0.0.1). Job B gets a new probe file every --interval-ms
// (200) and each probe's latency is taken: written (closed) → on B's replica (polled every ms).
// First --quiet-seconds (20) with nothing else happening, then a storm in job A: a child process
// creates --storm-files (100,000) files in A's tree as fast as it can (1,000 new directories of
// 100; each file is a create and a close event). The probes go on through the storm ("storm": until
// the child exits) and until A's replica holds every storm file ("drain"). p50/p95 per phase; the
// goal: storm p50 ≤ 2× quiet p50. A benchmark, not a test: nothing fails on a number.
//
// --storm-in unwatched is the control: the same storm, written by the same child into a directory
// no job watches (so rtsync neither sees nor sends it). What B's latency loses then is the
// machine's (CPU, the file system's journal and writeback shared with the writer), not the watch
// host's; a storm in job A can cost B no less.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup, runBenchMain, runCleanups, startBench } from "./cleanup.ts";
import { logSize, startRsyncDaemon } from "./daemon.ts";
import { describeMachine } from "./machine.ts";
import { logSince, rtsyncNode, sessionsOf, waitFor, writeManifest, type WatchJob } from "./node.ts";
import { stopTree } from "./proc.ts";
import { percentile } from "./stats.ts";
import { planTree, writeTree } from "./tree.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const USAGE = `usage: npm run bench:isolation -- [options]
  --quiet-seconds 20      probes in job B with nothing else happening
  --storm-files 100000    files the storm creates in job A's tree
  --interval-ms 200       one probe in job B this often
  --files 1000            files of each job's tree before the storm
  --drain-timeout 300     seconds to wait for A's replica to hold the storm after it
  --storm-in job-a        where the storm is written: job-a, or unwatched (the control: a directory no job watches)
  --json FILE             results (default bench/results/isolation-<date>.json)`;

interface Options {
  quietSeconds: number;
  stormFiles: number;
  intervalMs: number;
  files: number;
  drainTimeoutSeconds: number;
  stormIn: "job-a" | "unwatched";
  json: string | undefined;
}

function parseArgs(argv: readonly string[]): Options | string {
  const o: Options = { quietSeconds: 20, stormFiles: 100_000, intervalMs: 200, files: 1000, drainTimeoutSeconds: 300, stormIn: "job-a", json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--help" || flag === "-h") return USAGE;
    const v = argv[++i];
    if (v === undefined) return `${flag} needs a value\n${USAGE}`;
    const n = Number(v.replace(/_/g, ""));
    if (flag === "--storm-in") {
      if (v !== "job-a" && v !== "unwatched") return `--storm-in is job-a or unwatched, got "${v}"`;
      o.stormIn = v;
      continue;
    }
    if (flag !== "--json" && (!Number.isFinite(n) || n <= 0)) return `${flag} needs a positive number, got "${v}"`;
    switch (flag) {
      case "--quiet-seconds": o.quietSeconds = n; break;
      case "--storm-files": o.stormFiles = Math.round(n); break;
      case "--interval-ms": o.intervalMs = n; break;
      case "--files": o.files = Math.round(n); break;
      case "--drain-timeout": o.drainTimeoutSeconds = n; break;
      case "--json": o.json = v; break;
      default: return `unknown option ${flag}\n${USAGE}`;
    }
  }
  return o;
}

const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);

type Phase = "quiet" | "storm" | "drain";
interface Probe {
  readonly k: number;
  readonly phase: Phase;
  /** ms since the bench's start, when the write had closed */
  readonly writtenMs: number;
  /** written → on the replica, ms; null: not there after the timeout */
  latencyMs: number | null;
}

// The storm: a separate process, so the bench's own probing is not slowed by it.
const STORM_SCRIPT = `
const { mkdirSync, writeFileSync } = require("node:fs");
const [root, count] = [process.argv[1], Number(process.argv[2])];
for (let i = 0; i < count; i++) {
  const dir = root + "/d" + String(Math.floor(i / 100)).padStart(4, "0");
  if (i % 100 === 0) mkdirSync(dir, { recursive: true });
  writeFileSync(dir + "/f" + String(i % 100).padStart(2, "0"), "storm " + i + "\\n");
}`;

function countFiles(dir: string): number {
  let n = 0;
  let subdirs: string[];
  try {
    subdirs = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const d of subdirs) {
    try {
      n += readdirSync(join(dir, d)).length;
    } catch {
      // not there yet
    }
  }
  return n;
}

function summary(probes: readonly Probe[], phase: Phase): { n: number; p50: number | null; p95: number | null; max: number | null; timeouts: number } {
  const ps = probes.filter((p) => p.phase === phase);
  const ok = ps.map((p) => p.latencyMs).filter((x): x is number => x !== null);
  return {
    n: ps.length,
    p50: percentile(ok, 50) ?? null,
    p95: percentile(ok, 95) ?? null,
    max: ok.length > 0 ? Math.max(...ok) : null,
    timeouts: ps.length - ok.length,
  };
}

async function main(): Promise<number> {
  const started = await startBench(parseArgs, USAGE, "rtsync-bench-isolation-");
  if (typeof started === "number") return started;
  const { o, root } = started;
  const inJobA = o.stormIn === "job-a"; // else the control
  const machine = describeMachine(REPO);
  const probes: Probe[] = [];
  const result: Record<string, unknown> = {};
  try {
    const layout = planTree(o.files);
    const jobs: WatchJob[] = ["A", "B"].map((name) => ({ name: `job${name}`, source: join(root, "src", name), modulePath: `rtsync/${name}` }));
    for (const j of jobs) {
      await mkdir(j.source, { recursive: true, mode: 0o755 });
      await writeTree(j.source, layout);
      await mkdir(join(root, "replica", j.modulePath), { recursive: true });
    }
    const [jobA, jobB] = jobs as [WatchJob, WatchJob];
    const probeDir = join(jobB.source, "probes");
    await mkdir(probeDir);
    spawnSync("sync", [], { stdio: "ignore" });
    await mkdir(join(root, "daemon"));
    const daemon = await startRsyncDaemon(join(root, "daemon"), join(root, "replica"));
    onCleanup(() => daemon.stop());
    const stateDir = join(root, "state");
    const manifestPath = join(root, "rtsync.yaml");
    await writeManifest(manifestPath, { stateDir, passwordFile: daemon.passwordFile, port: daemon.port, jobs });
    const node = rtsyncNode(manifestPath, stateDir);
    const offset = await logSize(daemon.logPath);
    log("rtsync apply: jobs A and B");
    const applied = await node.apply();
    if (applied.code !== 0) throw new Error(`rtsync apply exited ${applied.code}: ${applied.output.trim().split("\n").slice(-3).join(" / ")}`);
    const up = await waitFor(async () => {
      const text = await logSince(daemon.logPath, offset);
      return jobs.every((j) => sessionsOf(text, j.modulePath).closed > 0);
    }, 120_000, 50);
    if (up === null) throw new Error("the initial syncs were not done within 120 s");
    await sleep(2000);
    result["processes"] = node.processes().length;

    const replicaB = join(root, "replica", jobB.modulePath, "probes");
    const stormRoot = inJobA ? join(jobA.source, "storm") : join(root, "unwatched", "storm");
    const stormReplica = join(root, "replica", jobA.modulePath, "storm");
    let phase: Phase = "quiet";
    let done = false;
    const t0 = performance.now();
    // The probe loop: a new probe every interval, every outstanding one checked every ms.
    const probing = (async () => {
      const outstanding: Probe[] = [];
      let next = performance.now();
      for (let k = 0; !done || outstanding.length > 0; ) {
        const now = performance.now();
        if (!done && now >= next) {
          writeFileSync(join(probeDir, `p${k}`), `probe ${k}\n`);
          const p: Probe = { k, phase, writtenMs: performance.now() - t0, latencyMs: null };
          k++;
          probes.push(p);
          outstanding.push(p);
          next += o.intervalMs;
        }
        for (let i = outstanding.length - 1; i >= 0; i--) {
          const p = outstanding[i] as Probe;
          const age = performance.now() - t0 - p.writtenMs;
          if (existsSync(join(replicaB, `p${p.k}`))) {
            p.latencyMs = age;
            outstanding.splice(i, 1);
          } else if (age > 60_000) outstanding.splice(i, 1);
        }
        await sleep(1);
      }
    })();
    try {
      log(`quiet: ${o.quietSeconds} s of probes in job B every ${o.intervalMs} ms`);
      await sleep(o.quietSeconds * 1000);
      log(`storm: ${o.stormFiles.toLocaleString("en-US")} files created in ${inJobA ? "job A's tree" : "a directory no job watches (the control)"}`);
      phase = "storm";
      const stormStart = performance.now();
      const child = spawn(process.execPath, ["-e", STORM_SCRIPT, stormRoot, String(o.stormFiles)], { stdio: ["ignore", "ignore", "inherit"] });
      const childPid = child.pid ?? 0;
      const unregister = onCleanup(() => stopTree(childPid));
      const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
      unregister();
      const stormSeconds = (performance.now() - stormStart) / 1000;
      if (code !== 0) throw new Error(`the storm exited ${code}`);
      log(`  storm written in ${stormSeconds.toFixed(1)} s${inJobA ? "; drain: until A's replica holds it" : ""}`);
      phase = "drain";
      const drained = inJobA ? await waitFor(() => countFiles(stormReplica) >= o.stormFiles, o.drainTimeoutSeconds * 1000, 500) : null;
      const drainSeconds = drained === null ? null : stormSeconds + drained / 1000;
      if (inJobA) log(`  A's replica ${drainSeconds === null ? "not complete" : `complete ${drainSeconds.toFixed(1)} s after the storm began`}`);
      result["storm"] = { files: o.stormFiles, writeSeconds: stormSeconds, replicatedSeconds: drainSeconds };
    } finally {
      done = true;
      await probing;
      await node.stop();
    }
  } finally {
    await runCleanups();
  }
  const phases = { quiet: summary(probes, "quiet"), storm: summary(probes, "storm"), drain: summary(probes, "drain") };
  const ratio = phases.quiet.p50 && phases.storm.p50 !== null ? phases.storm.p50 / phases.quiet.p50 : null;
  const fmt = (x: number | null): string => (x === null ? "–" : `${x.toFixed(1)}`);
  const table = [
    "| phase | probes | p50 (ms) | p95 (ms) | max (ms) | not arrived in 60 s |",
    "|---|---|---|---|---|---|",
    ...(["quiet", "storm", "drain"] as const).map((p) => `| ${p} | ${phases[p].n} | ${fmt(phases[p].p50)} | ${fmt(phases[p].p95)} | ${fmt(phases[p].max)} | ${phases[p].timeouts} |`),
    "",
    inJobA
      ? `Goal: storm p50 ≤ 2× quiet p50: ${ratio === null ? "–" : `${ratio.toFixed(2)}×`} → ${ratio === null ? "not measured" : ratio <= 2 ? "met" : "**missed**"}`
      : `Control (no job sees the storm): storm p50 / quiet p50 = ${ratio === null ? "–" : `${ratio.toFixed(2)}×`}, what the machine alone costs job B`,
  ].join("\n");
  const date = new Date().toISOString();
  const jsonPath = o.json ?? join(REPO, "bench", "results", `isolation-${date.replace(/[:.]/g, "-")}.json`);
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify({ date, machine, options: o, ...result, phases, stormOverQuietP50: ratio, table, probes }, null, 2)}\n`);
  const storm = result["storm"] as { writeSeconds: number; replicatedSeconds: number | null } | undefined;
  process.stdout.write(
    `\nrtsync isolation, ${date.slice(0, 16)}Z, ${String(machine["cores"])} cores, rtsync ${String(machine["rtsyncCommit"])}, ${String(result["processes"] ?? "?")} rtsync processes; ` +
      `storm of ${o.stormFiles.toLocaleString("en-US")} files ${inJobA ? "in job A" : "in a directory no job watches (the control)"}${storm ? ` written in ${storm.writeSeconds.toFixed(1)} s, on A's replica after ${storm.replicatedSeconds === null ? "–" : storm.replicatedSeconds.toFixed(1)} s` : ""}; ` +
      `job B: a probe every ${o.intervalMs} ms, written → on B's replica\n\n${table}\n\nJSON: ${jsonPath}\n`,
  );
  return 0;
}

runBenchMain(main);
