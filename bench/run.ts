// `npm run bench`: rtsync against the classic inotifywait|rsync loop, lsyncd and the floor (one
// rsync of exactly the changed paths), on trees of small files. Prints one table of medians and
// writes every measurement as JSON. See docs/benchmarks.md.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { USAGE, parseBenchArgs, type BenchOptions } from "./args.ts";
import { installSignalCleanup, onCleanup, runBenchMain, runCleanups } from "./cleanup.ts";
import { startRsyncDaemon } from "./daemon.ts";
import { createClassicPeer } from "./peers/classic.ts";
import { createLsyncdPeer, lsyncdVersion } from "./peers/lsyncd.ts";
import type { Peer, PeerEnv } from "./peers/peer.ts";
import { RTSYNC_BIN, createRtsyncPeer } from "./peers/rtsync.ts";
import { runFloorSession, runToolSession, type SessionInput } from "./session.ts";
import { METRICS, aggregate, renderTable } from "./table.ts";
import { planTree, writeTree } from "./tree.ts";
import { TOOL_NAMES, type RunRecord, type ToolName } from "./types.ts";
import { describeMachine } from "./machine.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const started = Date.now();
const log = (line: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
};

const machine = (): Record<string, unknown> => describeMachine(REPO);

// Why a tool cannot run here, or undefined when it can.
function unavailable(tool: ToolName, size: number, o: BenchOptions): string | undefined {
  if ((tool === "lsyncd0" || tool === "lsyncd1") && lsyncdVersion() === undefined) return "lsyncd is not installed (apt-get install lsyncd)";
  if (tool.startsWith("rtsync") && !existsSync(RTSYNC_BIN)) return `${RTSYNC_BIN} is missing (npm run build)`;
  if (tool === "rtsync-chokidar" && size > o.chokidarMax) return `chokidar holds one inotify watch per file; skipped above --chokidar-max ${o.chokidarMax}`;
  return undefined;
}

function makePeer(tool: Exclude<ToolName, "floor">, env: PeerEnv): Peer {
  switch (tool) {
    case "rtsync-inotify":
      return createRtsyncPeer(env, "inotify");
    case "rtsync-inotifywait":
      return createRtsyncPeer(env, "inotifywait");
    case "rtsync-chokidar":
      return createRtsyncPeer(env, "chokidar");
    case "classic":
      return createClassicPeer(env);
    case "lsyncd0":
      return createLsyncdPeer(env, 0);
    case "lsyncd1":
      return createLsyncdPeer(env, 1);
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  const child = spawn("cp", ["-a", `${from}/.`, to], { stdio: "ignore" });
  const code = await new Promise<number>((res) => child.on("close", (c) => res(c ?? -1)));
  if (code !== 0) throw new Error(`cp -a ${from} ${to} exited ${code}`);
}

async function benchSize(root: string, size: number, o: BenchOptions, records: RunRecord[], builds: Record<string, number>): Promise<void> {
  const base = join(root, `files-${size}`);
  const source = join(base, "source");
  const replica = join(base, "replica");
  await mkdir(source, { recursive: true, mode: 0o755 });
  await mkdir(replica, { recursive: true, mode: 0o755 });
  const layout = planTree(size);
  log(`${size.toLocaleString("en-US")} files: building the source tree (${layout.dirs.length} directories)…`);
  const buildSec = await writeTree(source, layout);
  builds[String(size)] = buildSec;
  log(`  built in ${buildSec.toFixed(1)} s; copying it to the replica…`);
  await copyTree(source, replica);
  // let writeback of the new trees finish before anything is timed
  spawnSync("sync", [], { stdio: "ignore" });
  const daemonDir = join(base, "daemon");
  await mkdir(daemonDir, { recursive: true });
  const daemon = await startRsyncDaemon(daemonDir, replica);
  const unregister = onCleanup(() => daemon.stop());
  try {
    for (let run = 1; run <= o.runs; run++) {
      // a different order each run, so no tool always follows the same one (or the tree build)
      const shift = (run - 1) % o.tools.length;
      for (const tool of [...o.tools.slice(shift), ...o.tools.slice(0, shift)]) {
        const skipped = unavailable(tool, size, o);
        if (skipped) {
          if (run === 1) log(`${tool}: skipped: ${skipped}`);
          records.push({ tool, size, run, scenarios: {}, skipped });
          continue;
        }
        log(`${size.toLocaleString("en-US")} files, run ${run}/${o.runs}: ${tool}`);
        const input: SessionInput = {
          tool, size, run, source, replica, layout,
          scenarios: o.scenarios,
          idleSeconds: o.idleSeconds,
          latencyWrites: o.latencyWrites,
          idleTimeoutMs: o.idleTimeoutSeconds * 1000,
          soakSeconds: o.soakSeconds,
          log,
        };
        let record: RunRecord;
        if (tool === "floor") {
          record = await runFloorSession(input, { source, port: daemon.port, passwordFile: daemon.passwordFile }, daemon.logPath);
        } else {
          const workDir = join(base, `work-${tool}-${run}`);
          await mkdir(workDir, { recursive: true });
          const env: PeerEnv = { source, replica, workDir, daemon };
          record = await runToolSession(input, makePeer(tool, env));
        }
        if (record.error) log(`  error: ${record.error}`);
        for (const [name, s] of Object.entries(record.scenarios)) {
          if (s.error) log(`  ${name}: ${s.error}`);
          if (s.verify && !s.verify.ok) log(`  ${name}: DATA LOSS: ${s.verify.sample.slice(0, 5).join(" | ")}`);
        }
        records.push(record);
      }
    }
  } finally {
    await daemon.stop();
    unregister();
    if (!o.keep) await rm(base, { recursive: true, force: true });
  }
}

interface SavedResults {
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly options: BenchOptions;
  readonly records: RunRecord[];
}

// `--table A.json,B.json`: one table from earlier runs (e.g. the peers and rtsync run apart).
async function printSavedTable(files: readonly string[]): Promise<number> {
  const saved = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, "utf8")) as SavedResults));
  const records = saved.flatMap((s) => s.records);
  const sizes = [...new Set(records.map((r) => r.size))].sort((a, b) => a - b);
  const tools = TOOL_NAMES.filter((t) => records.some((r) => r.tool === t));
  const runs = [...new Set(saved.map((s) => s.options.runs))].join("/");
  const dates = [...new Set(saved.map((s) => s.date.slice(0, 10)))].join(", ");
  process.stdout.write(
    `rtsync benchmark, ${dates}, ${String(saved[0]?.machine["cores"] ?? "?")} cores, medians of ${runs} run(s) ` +
      `(×F = ratio to the floor, ×C = ratio to the classic loop)\n\n${renderTable(records, sizes, tools)}\n`,
  );
  return 0;
}

async function main(): Promise<number> {
  const parsed = parseBenchArgs(process.argv.slice(2), tmpdir());
  if (!parsed.ok) {
    if ("help" in parsed) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`bench: ${parsed.error}\n`);
    return 1;
  }
  const o = parsed.options;
  if (o.table) return printSavedTable(o.table);
  for (const cmd of ["rsync", "inotifywait"]) {
    if (spawnSync(cmd, ["--help"]).error) {
      process.stderr.write(`bench: ${cmd} is not installed (apt-get install rsync inotify-tools)\n`);
      return 1;
    }
  }
  installSignalCleanup();
  await mkdir(o.dir, { recursive: true });
  const root = await mkdtemp(join(resolve(o.dir), "rtsync-bench-"));
  await chmod(root, 0o755); // rsyncd module paths need traversable parents
  onCleanup(async () => {
    if (!o.keep) await rm(root, { recursive: true, force: true });
  });
  log(`bench dir ${root}; sizes ${o.sizes.join(", ")}; ${o.runs} run(s); tools ${o.tools.join(", ")}`);
  const records: RunRecord[] = [];
  const builds: Record<string, number> = {};
  const info = machine();
  try {
    for (const size of o.sizes) await benchSize(root, size, o, records, builds);
  } finally {
    await runCleanups();
  }
  const table = renderTable(records, o.sizes, o.tools);
  const summary = o.sizes.flatMap((size) =>
    METRICS.flatMap((m) => o.tools.map((tool) => ({ size, tool, scenario: m.scenario, metric: m.key, ...aggregate(records, tool, size, m) }))),
  );
  const date = new Date().toISOString();
  const jsonPath = o.json ?? join(REPO, "bench", "results", `${date.replace(/[:.]/g, "-")}.json`);
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify({ date, machine: info, options: o, treeBuildSeconds: builds, table, summary, records }, null, 2)}\n`);
  process.stdout.write(
    `\nrtsync benchmark, ${date.slice(0, 10)}, ${String(info["cores"])} cores, medians of ${o.runs} run(s); ` +
      `(×F = ratio to the floor, ×C = ratio to the classic loop)\n\n${table}\n\n` +
      `tree build: ${Object.entries(builds).map(([n, s]) => `${Number(n).toLocaleString("en-US")} files ${s.toFixed(1)} s`).join(", ")}\n` +
      `JSON: ${jsonPath}\n`,
  );
  return 0;
}

runBenchMain(main);
