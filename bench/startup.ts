// `npm run bench:startup` (issue 20): start → initial full sync done → a change made right then is on
// the replica. Same set-up as issue 14's start-up scenario (bench/published/2026-11-29/
// issue14-startup*.json): a tree of small files (bench/tree.ts) and a replica copied from it, a
// bench-started `rsync --daemon` on 127.0.0.1 already running; for each size (--sizes 2000,10000,
// 100000) and run (--runs 3), one after the other, in an order rotated each run:
//   - rtsync: `rtsync apply` of a manifest with the one watch job (a fresh stateDir each run);
//   - lsyncd: stock default.rsync with delay 0, the same target on the same daemon;
// from the start command: "synced" when the daemon has logged the end of the tool's first session
// to that path (the initial full sync), then a probe file is written into the tree's last directory
// at once, "probe" when it is on the replica (polled every ms).
// Then "a new job added to a running node": rtsync applied with one job (--files-first 1,000 files),
// then a manifest with a second job (--new-job-files 10,000) given to it: the start → the second
// job's initial sync done → its probe on the replica; compared with lsyncd's start at that size.
// Three ways to give it (--new-job-via): `rtsync apply` of the new manifest (start: apply's
// start); under `rtsync agent`, the manifest saved over the old one (temp file + rename, as an
// editor does; start: the rename), which the agent notices by its file watch after 100 ms of
// quiet; and the same save followed at once by SIGHUP (`systemctl reload rtsync-agent`).
// A benchmark, not a test: nothing fails on a number. JSON (--json FILE) + a table on stdout.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup, runBenchMain, runCleanups, startBench } from "./cleanup.ts";
import { logSize, startRsyncDaemon, type RsyncDaemon } from "./daemon.ts";
import { describeMachine } from "./machine.ts";
import { logSince, renderLsyncdNodeConfig, renderNodeManifest, rtsyncNode, sessionsOf, startLsyncd, writeManifest, type WatchJob } from "./node.ts";
import { median } from "./stats.ts";
import { planTree, writeTree, type TreeLayout } from "./tree.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const USAGE = `usage: npm run bench:startup -- [options]
  --sizes 2000,10000,100000   tree sizes in files
  --runs 3                    runs per tool and size (the table shows medians)
  --tools rtsync,lsyncd       which to run
  --new-job-files 10000       the second job's tree in "a new job added to a running node" (0: skip it)
  --files-first 1000          the first job's tree there
  --new-job-via apply,agent-edit,agent-hup
                              how the second job is given: apply; the agent noticing the saved
                              manifest; the agent told by SIGHUP right after the save
  --json FILE                 results (default bench/results/startup-<date>.json)`;

type Tool = "rtsync" | "lsyncd";
const VIAS = ["apply", "agent-edit", "agent-hup"] as const;
type Via = (typeof VIAS)[number];
interface Options {
  sizes: number[];
  runs: number;
  tools: Tool[];
  newJobFiles: number;
  filesFirst: number;
  newJobVia: Via[];
  json: string | undefined;
}

function parseArgs(argv: readonly string[]): Options | string {
  const o: Options = { sizes: [2000, 10_000, 100_000], runs: 3, tools: ["rtsync", "lsyncd"], newJobFiles: 10_000, filesFirst: 1000, newJobVia: [...VIAS], json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--help" || flag === "-h") return USAGE;
    const v = argv[++i];
    if (v === undefined) return `${flag} needs a value\n${USAGE}`;
    const num = (s: string): number => Math.round(Number(s.replace(/_/g, "")));
    switch (flag) {
      case "--sizes": o.sizes = v.split(",").map(num).filter((n) => n > 0); break;
      case "--runs": o.runs = Math.max(1, num(v) || 1); break;
      case "--tools": o.tools = v.split(",").filter((t): t is Tool => t === "rtsync" || t === "lsyncd"); break;
      case "--new-job-files": o.newJobFiles = Math.max(0, num(v) || 0); break;
      case "--files-first": o.filesFirst = Math.max(1, num(v) || 1); break;
      case "--new-job-via": {
        const vias = v.split(",");
        const bad = vias.filter((x) => !(VIAS as readonly string[]).includes(x));
        if (bad.length > 0 || vias.length === 0) return `--new-job-via: unknown ${bad.join(", ")} (known: ${VIAS.join(", ")})`;
        o.newJobVia = vias as Via[];
        break;
      }
      case "--json": o.json = v; break;
      default: return `unknown option ${flag}\n${USAGE}`;
    }
  }
  return o;
}

const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);

interface Timing {
  readonly what: "start" | "new-job";
  readonly tool: Tool;
  /** how a new job was given (new-job only) */
  readonly via?: Via;
  readonly files: number;
  readonly run: number;
  /** start command → the daemon logged the end of the initial sync, s */
  readonly syncedSec: number | null;
  /** start command → the probe written at "synced" is on the replica, s */
  readonly probeSec: number | null;
  /** the start command's own duration (rtsync apply), s */
  readonly commandSec?: number;
  readonly error?: string;
}

async function run(cmd: string, args: readonly string[]): Promise<void> {
  const child = spawn(cmd, args, { stdio: "ignore" });
  const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}`);
}

// From t0: until the daemon logged the end of a session to `path` (after `offset`), then a probe
// written into `probeDir` of the source until it is in the replica's. Times in s from t0.
async function syncThenProbe(
  daemon: RsyncDaemon,
  offset: number,
  path: string,
  t0: number,
  probe: { readonly source: string; readonly replica: string },
  timeoutMs: number,
): Promise<{ syncedSec: number | null; probeSec: number | null }> {
  let synced: number | null = null;
  while (performance.now() - t0 < timeoutMs) {
    if (sessionsOf(await logSince(daemon.logPath, offset), path).closed > 0) {
      synced = performance.now();
      break;
    }
    await sleep(5);
  }
  if (synced === null) return { syncedSec: null, probeSec: null };
  writeFileSync(probe.source, "probe\n");
  let seen: number | null = null;
  for (const until = performance.now() + 60_000; performance.now() < until; await sleep(1)) {
    if (existsSync(probe.replica)) {
      seen = performance.now();
      break;
    }
  }
  return { syncedSec: (synced - t0) / 1000, probeSec: seen === null ? null : (seen - t0) / 1000 };
}

interface Tree {
  readonly source: string;
  readonly replica: string;
  readonly layout: TreeLayout;
  readonly modulePath: string;
}

async function makeTree(base: string, name: string, files: number): Promise<Tree> {
  const source = join(base, "src", name);
  const replica = join(base, "replica", name);
  const layout = planTree(files);
  await mkdir(source, { recursive: true, mode: 0o755 });
  await mkdir(replica, { recursive: true, mode: 0o755 });
  await writeTree(source, layout);
  await run("cp", ["-a", `${source}/.`, replica]);
  return { source, replica, layout, modulePath: name };
}

const probePaths = (t: Tree, name: string): { source: string; replica: string } => {
  const dir = t.layout.dirs[t.layout.dirs.length - 1] as string;
  return { source: join(t.source, dir, name), replica: join(t.replica, dir, name) };
};

// Puts the replica back to a copy of the source (probes removed from both).
async function reset(t: Tree, probes: readonly string[]): Promise<void> {
  for (const p of probes) rmSync(probePaths(t, p).source, { force: true });
  await run("rsync", ["-a", "--delete", `${t.source}/`, `${t.replica}/`]);
  spawnSync("sync", [], { stdio: "ignore" });
}

async function startRtsync(base: string, daemon: RsyncDaemon, tree: Tree, tag: string, files: number, runNo: number): Promise<Timing> {
  const stateDir = join(base, `state-${tag}`);
  const manifestPath = join(base, `rtsync-${tag}.yaml`);
  const job: WatchJob = { name: "start", source: tree.source, modulePath: tree.modulePath };
  await writeManifest(manifestPath, { stateDir, passwordFile: daemon.passwordFile, port: daemon.port, jobs: [job] });
  const node = rtsyncNode(manifestPath, stateDir);
  try {
    const offset = await logSize(daemon.logPath);
    const t0 = performance.now();
    let commandSec: number | undefined;
    const applying = node.apply().then((r) => {
      commandSec = (performance.now() - t0) / 1000;
      return r;
    });
    const times = await syncThenProbe(daemon, offset, tree.modulePath, t0, probePaths(tree, `probe-${tag}`), 120_000 + files / 2);
    const r = await applying;
    return { what: "start", tool: "rtsync", files, run: runNo, ...times, ...(commandSec === undefined ? {} : { commandSec }), ...(r.code !== 0 ? { error: `apply exited ${r.code}` } : {}) };
  } finally {
    await node.stop();
  }
}

async function startLsyncdOnce(base: string, daemon: RsyncDaemon, tree: Tree, tag: string, files: number, runNo: number): Promise<Timing> {
  const work = join(base, `lsyncd-${tag}`);
  await mkdir(work, { recursive: true });
  const config = join(work, "lsyncd.lua");
  await writeFile(config, renderLsyncdNodeConfig(work, [{ name: "start", source: tree.source, modulePath: tree.modulePath }], daemon, 0));
  const offset = await logSize(daemon.logPath);
  const t0 = performance.now();
  const lsyncd = startLsyncd(config);
  try {
    const times = await syncThenProbe(daemon, offset, tree.modulePath, t0, probePaths(tree, `probe-${tag}`), 120_000 + files / 2);
    return { what: "start", tool: "lsyncd", files, run: runNo, ...times };
  } finally {
    await lsyncd.stop();
  }
}

async function benchSize(root: string, files: number, o: Options, out: Timing[]): Promise<void> {
  const base = join(root, `files-${files}`);
  log(`${files.toLocaleString("en-US")} files: building the tree and its replica…`);
  const tree = await makeTree(base, "start", files);
  await mkdir(join(base, "daemon"), { recursive: true });
  const daemon = await startRsyncDaemon(join(base, "daemon"), join(base, "replica"));
  const unregister = onCleanup(() => daemon.stop());
  const probes: string[] = [];
  try {
    for (let r = 1; r <= o.runs; r++) {
      const shift = (r - 1) % o.tools.length;
      for (const tool of [...o.tools.slice(shift), ...o.tools.slice(0, shift)]) {
        const tag = `${tool}-${r}`;
        probes.push(`probe-${tag}`);
        await reset(tree, probes);
        log(`${files.toLocaleString("en-US")} files, run ${r}/${o.runs}: ${tool}`);
        try {
          const t = tool === "rtsync" ? await startRtsync(base, daemon, tree, tag, files, r) : await startLsyncdOnce(base, daemon, tree, tag, files, r);
          log(`  synced ${t.syncedSec?.toFixed(3) ?? "–"} s, probe ${t.probeSec?.toFixed(3) ?? "–"} s${t.error ? ` (${t.error})` : ""}`);
          out.push(t);
        } catch (e) {
          out.push({ what: "start", tool, files, run: r, syncedSec: null, probeSec: null, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
  } finally {
    await daemon.stop();
    unregister();
    await rm(base, { recursive: true, force: true });
  }
}

interface NewJobSetup {
  readonly base: string;
  readonly daemon: RsyncDaemon;
  readonly first: Tree;
  readonly second: Tree;
  readonly files: number;
}

// A node running one job (applied, or under the agent); then a manifest with a second job given
// `via` apply or the agent: the start → the second job synced → its probe.
async function newJobOnce(s: NewJobSetup, via: Via, r: number, probe: string): Promise<Timing> {
  const tag = `${via}-${r}`;
  const stateDir = join(s.base, `state-${tag}`);
  const manifestPath = join(s.base, `rtsync-${tag}.yaml`);
  const jobFirst: WatchJob = { name: "first", source: s.first.source, modulePath: s.first.modulePath };
  const jobSecond: WatchJob = { name: "second", source: s.second.source, modulePath: s.second.modulePath };
  const manifest = (jobs: WatchJob[]) => ({ stateDir, passwordFile: s.daemon.passwordFile, port: s.daemon.port, jobs });
  const node = rtsyncNode(manifestPath, stateDir);
  try {
    await writeManifest(manifestPath, manifest([jobFirst]));
    const offset0 = await logSize(s.daemon.logPath);
    if (via === "apply") {
      const a = await node.apply();
      if (a.code !== 0) throw new Error(`apply of the first job exited ${a.code}: ${a.output.trim().split("\n").slice(-2).join(" / ")}`);
    } else {
      await node.startAgent();
    }
    const t1 = performance.now();
    await syncThenProbe(s.daemon, offset0, s.first.modulePath, t1, { source: join(s.first.source, "warm"), replica: join(s.first.replica, "warm") }, 60_000);
    rmSync(join(s.first.source, "warm"), { force: true });
    await sleep(3000); // the node at rest before the second job comes
    log(`new job via ${via}, run ${r}: a node running 1 job, then a manifest with a second (${s.files.toLocaleString("en-US")} files)`);
    const offset = await logSize(s.daemon.logPath);
    let commandSec: number | undefined;
    let applying: Promise<{ code: number }> = Promise.resolve({ code: 0 });
    let t0: number;
    if (via === "apply") {
      await writeManifest(manifestPath, manifest([jobFirst, jobSecond]));
      t0 = performance.now();
      applying = node.apply().then((x) => {
        commandSec = (performance.now() - t0) / 1000;
        return x;
      });
    } else {
      await writeFile(`${manifestPath}.new`, renderNodeManifest(manifest([jobFirst, jobSecond])));
      t0 = performance.now();
      await rename(`${manifestPath}.new`, manifestPath);
      if (via === "agent-hup") process.kill(node.agentPid(), "SIGHUP");
    }
    const times = await syncThenProbe(s.daemon, offset, s.second.modulePath, t0, probePaths(s.second, probe), 120_000 + s.files / 2);
    const b = await applying;
    const t: Timing = { what: "new-job", tool: "rtsync", via, files: s.files, run: r, ...times, ...(commandSec === undefined ? {} : { commandSec }), ...(b.code !== 0 ? { error: `apply exited ${b.code}` } : {}) };
    log(`  synced ${t.syncedSec?.toFixed(3) ?? "–"} s, probe ${t.probeSec?.toFixed(3) ?? "–"} s`);
    return t;
  } finally {
    await node.stop();
  }
}

async function benchNewJob(root: string, o: Options, out: Timing[]): Promise<void> {
  const base = join(root, "new-job");
  log(`new job: building a ${o.filesFirst.toLocaleString("en-US")}-file and a ${o.newJobFiles.toLocaleString("en-US")}-file tree…`);
  const first = await makeTree(base, "first", o.filesFirst);
  const second = await makeTree(base, "second", o.newJobFiles);
  await mkdir(join(base, "daemon"), { recursive: true });
  const daemon = await startRsyncDaemon(join(base, "daemon"), join(base, "replica"));
  const unregister = onCleanup(() => daemon.stop());
  const setup: NewJobSetup = { base, daemon, first, second, files: o.newJobFiles };
  const probes: string[] = [];
  try {
    for (let r = 1; r <= o.runs; r++) {
      const shift = (r - 1) % o.newJobVia.length;
      for (const via of [...o.newJobVia.slice(shift), ...o.newJobVia.slice(0, shift)]) {
        const probe = `probe-new-${via}-${r}`;
        probes.push(probe);
        await reset(first, []);
        await reset(second, probes);
        try {
          out.push(await newJobOnce(setup, via, r, probe));
        } catch (e) {
          out.push({ what: "new-job", tool: "rtsync", via, files: o.newJobFiles, run: r, syncedSec: null, probeSec: null, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
  } finally {
    await daemon.stop();
    unregister();
    await rm(base, { recursive: true, force: true });
  }
}

function renderTable(timings: readonly Timing[], o: Options): string {
  const med = (xs: readonly Timing[], f: (t: Timing) => number | null | undefined): string => {
    const values = xs.map(f).filter((x): x is number => typeof x === "number");
    const m = median(values);
    return m === undefined ? "–" : `${m.toFixed(3)}${values.length < xs.length ? ` (${xs.length - values.length} failed)` : ""}`;
  };
  const lines = [
    `| what | files | tool | runs | start → initial sync done (s) | start → probe on replica (s) | start command returned (s) |`,
    "|---|---|---|---|---|---|---|",
  ];
  const rows: Array<[Timing["what"], number, Tool, Via | undefined]> = [];
  for (const size of o.sizes) for (const tool of o.tools) rows.push(["start", size, tool, undefined]);
  if (o.newJobFiles > 0) for (const via of o.newJobVia) rows.push(["new-job", o.newJobFiles, "rtsync", via]);
  const labels: Record<Via, string> = { apply: "apply", "agent-edit": "agent: manifest saved", "agent-hup": "agent: saved + SIGHUP" };
  for (const [what, files, tool, via] of rows) {
    const xs = timings.filter((t) => t.what === what && t.files === files && t.tool === tool && t.via === via);
    if (xs.length === 0) continue;
    const label = via === undefined ? "start" : `new job on a running node (${labels[via]})`;
    lines.push(`| ${label} | ${files.toLocaleString("en-US")} | ${tool} | ${xs.length} | ${med(xs, (t) => t.syncedSec)} | ${med(xs, (t) => t.probeSec)} | ${tool === "rtsync" ? med(xs, (t) => t.commandSec) : "–"} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const started = await startBench(parseArgs, USAGE, "rtsync-bench-startup-");
  if (typeof started === "number") return started;
  const { o, root } = started;
  const machine = describeMachine(REPO);
  const timings: Timing[] = [];
  const loads: number[][] = [];
  try {
    for (const size of o.sizes) {
      loads.push((await import("node:os")).loadavg());
      await benchSize(root, size, o, timings);
    }
    if (o.newJobFiles > 0) await benchNewJob(root, o, timings);
    loads.push((await import("node:os")).loadavg());
  } finally {
    await runCleanups();
  }
  const table = renderTable(timings, o);
  const date = new Date().toISOString();
  const jsonPath = o.json ?? join(REPO, "bench", "results", `startup-${date.replace(/[:.]/g, "-")}.json`);
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, `${JSON.stringify({ date, machine, options: o, loadavg: loads, table, timings }, null, 2)}\n`);
  process.stdout.write(
    `\nrtsync start-up, ${date.slice(0, 16)}Z, ${String(machine["cores"])} cores, rtsync ${String(machine["rtsyncCommit"])}, lsyncd ${String(machine["lsyncd"])} (delay 0), medians of ${o.runs} run(s); ` +
      `load ${loads.map((l) => (l[0] ?? 0).toFixed(2)).join(" → ")}\n\n${table}\n\nJSON: ${jsonPath}\n`,
  );
  return 0;
}

runBenchMain(main);
