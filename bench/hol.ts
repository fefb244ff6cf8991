// `npm run bench:hol`: issue 18's head-of-line figure. One watch engine (in this process, real
// inotify, real rsync) pushes to a real `rsync --daemon` on 127.0.0.1 with `--bwlimit`; a big file
// (400 MB, random) is moved in, and while it goes out small files are written every ~200 ms to
// other paths. For each small file: close -> the file on the replica (stat polled every 2 ms).
// Two sessions: "before" (overlap disabled: engine option overlapAfterMs = Infinity, main's
// behaviour) and "after" (the default: a run beside the big one after 500 ms). Not a test:
// nothing fails on a number. After each session the replica must equal the source
// (`rsync -anc --delete --itemize-changes` prints nothing), else the table says DATA LOSS.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { findExecutable } from "../src/core/executables.ts";
import type { WatchSpec } from "../src/state/watch-spec.ts";
import { startWatchEngine } from "../src/watch/engine/engine.ts";
import type { EngineEvent } from "../src/watch/engine/events.ts";
import { installSignalCleanup, onCleanup, runCleanups } from "./cleanup.ts";
import { BENCH_USER, MODULE, startRsyncDaemon } from "./daemon.ts";
import { describeMachine } from "./machine.ts";
import { summarizeLatency } from "./stats.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const MODES = ["before", "after"] as const;
type Mode = (typeof MODES)[number];

const USAGE = `usage: npm run bench:hol -- [options]
  --big-mb 400           size of the big file (MB, random bytes)
  --bwlimit 20m          the target's --bwlimit
  --every-ms 200         one small file written every this many ms while the big one is in flight
  --modes before,after   before: overlap disabled (main); after: the default
  --json FILE            results (default bench/results/hol-<date>.json)
  --dir DIR              where the temp trees go (default: the OS temp dir)
  --quick                smoke check: 40 MB at 4m`;

interface Options {
  bigMb: number;
  bwlimit: string;
  everyMs: number;
  modes: Mode[];
  json: string | undefined;
  dir: string;
}

function parseOptions(argv: readonly string[]): Options | "help" {
  const o: Options = { bigMb: 400, bwlimit: "20m", everyMs: 200, modes: [...MODES], json: undefined, dir: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--help" || flag === "-h") return "help";
    if (flag === "--quick") {
      o.bigMb = 40;
      o.bwlimit = "4m";
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--big-mb": o.bigMb = Number(v); break;
      case "--bwlimit": o.bwlimit = v; break;
      case "--every-ms": o.everyMs = Number(v); break;
      case "--modes": {
        const modes = v.split(",");
        const bad = modes.filter((m) => !(MODES as readonly string[]).includes(m));
        if (bad.length > 0) throw new Error(`--modes: unknown ${bad.join(", ")} (known: ${MODES.join(", ")})`);
        o.modes = modes as Mode[];
        break;
      }
      case "--json": o.json = v; break;
      case "--dir": o.dir = v; break;
      default: throw new Error(`unknown option "${flag}"\n${USAGE}`);
    }
  }
  if (!Number.isFinite(o.bigMb) || o.bigMb <= 0 || !Number.isFinite(o.everyMs) || o.everyMs <= 0) throw new Error("--big-mb and --every-ms need positive numbers");
  return o;
}

const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
const exists = (file: string): boolean => statSync(file, { throwIfNoEntry: false }) !== undefined;
const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);

async function writeRandom(file: string, mb: number): Promise<void> {
  const fh = await open(file, "w");
  try {
    for (let i = 0; i < mb; i++) await fh.write(randomBytes(1024 * 1024));
  } finally {
    await fh.close();
  }
}

// The itemized differences between source and replica (empty: equal).
async function differences(source: string, replica: string): Promise<string> {
  const child = spawn("rsync", ["-anc", "--delete", "--itemize-changes", `${source}/`, `${replica}/`], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  if (code !== 0) return `rsync -anc exited ${code}`;
  return out.split("\n").filter((l) => l !== "" && !/^\.d\S* \.\/$/.test(l)).join("\n");
}

interface Session {
  readonly mode: Mode;
  readonly latencySec: (number | null)[];
  readonly bigSec: number;
  readonly runsBeside: number;
  readonly summary: ReturnType<typeof summarizeLatency>;
  readonly equal: boolean;
}

async function runSession(mode: Mode, o: Options, rsync: string): Promise<Session> {
  const base = await mkdtemp(join(o.dir, "rtsync-hol-"));
  const dropBase = onCleanup(() => rm(base, { recursive: true, force: true }));
  const source = join(base, "src");
  const replica = join(base, "replica");
  const daemonDir = join(base, "daemon");
  await Promise.all([mkdir(source), mkdir(replica), mkdir(daemonDir), mkdir(join(base, "state"))]);
  const daemon = await startRsyncDaemon(daemonDir, replica);
  const dropDaemon = onCleanup(() => daemon.stop());
  const spec: WatchSpec = {
    name: "hol",
    source,
    targets: [{
      key: `rsync://127.0.0.1:${daemon.port}/${MODULE}`,
      target: `rsync://${BENCH_USER}@127.0.0.1:${daemon.port}/${MODULE}`,
      daemonTarget: true,
      passwordFile: daemon.passwordFile,
      rsyncArgs: [`--bwlimit=${o.bwlimit}`],
    }],
    exclude: [],
    delayMs: 0,
    watcher: "inotify",
    initialSync: true,
    stateDir: join(base, "state"),
    rsync,
  };
  const events: EngineEvent[] = [];
  const engine = await startWatchEngine(spec, { onEvent: (e) => events.push(e), ...(mode === "before" ? { overlapAfterMs: Infinity } : {}) });
  const stopEngine = onCleanup(() => engine.stop());
  await engine.ready;
  while (!engine.idle()) await sleep(20);

  log(`${mode}: writing ${o.bigMb} MB, then a small file every ${o.everyMs} ms until it is on the replica`);
  // Written outside and moved in: it appears whole (a file written in place for longer than the
  // batcher's 1 s hold of open files would go out partly first, then whole).
  await writeRandom(join(base, "big.bin"), o.bigMb);
  const bigStart = performance.now();
  await rename(join(base, "big.bin"), join(source, "big.bin"));
  const bigSize = o.bigMb * 1024 * 1024;
  const written = new Map<string, number>(); // replica path -> close time
  const arrived = new Map<string, number>();
  let bigDone: number | undefined;
  let n = 0;
  let nextWrite = performance.now();
  while (bigDone === undefined || arrived.size < written.size) {
    const now = performance.now();
    if (bigDone === undefined && now >= nextWrite) {
      const rel = n % 2 === 0 ? `small-${n}.txt` : `dir${n % 5}/small-${n}.txt`;
      n++;
      await mkdir(dirname(join(source, rel)), { recursive: true });
      await writeFile(join(source, rel), `small ${n}\n`);
      written.set(join(replica, rel), performance.now());
      nextWrite += o.everyMs;
    }
    for (const [file, at] of written) if (!arrived.has(file) && exists(file)) arrived.set(file, performance.now() - at);
    if (bigDone === undefined && statSync(join(replica, "big.bin"), { throwIfNoEntry: false })?.size === bigSize) bigDone = performance.now();
    if (performance.now() - bigStart > 30 * 60_000) throw new Error(`${mode}: the big file did not arrive in 30 minutes`);
    await sleep(2);
  }
  while (!engine.idle()) await sleep(20);
  await engine.stop();
  stopEngine();
  const diff = await differences(source, replica);
  const latencySec = [...written.keys()].map((f) => {
    const ms = arrived.get(f);
    return ms === undefined ? null : ms / 1000;
  });
  await daemon.stop();
  dropDaemon();
  await rm(base, { recursive: true, force: true });
  dropBase();
  const runsBeside = events.filter((e) => e.type === "early-run-done" && e.run.reason === "beside a run in flight").length;
  const summary = summarizeLatency(latencySec);
  log(`${mode}: ${latencySec.length} small files, p50 ${round(summary.p50)} s, p95 ${round(summary.p95)} s, max ${round(summary.max)} s; big file ${(((bigDone ?? 0) - bigStart) / 1000).toFixed(1)} s; ${runsBeside} runs beside${diff === "" ? "" : "; DATA LOSS"}`);
  return { mode, latencySec, bigSec: ((bigDone ?? 0) - bigStart) / 1000, runsBeside, summary, equal: diff === "" };
}

function renderTable(sessions: readonly Session[], o: Options): string {
  const lines = [
    `Small files written every ${o.everyMs} ms while a ${o.bigMb} MB file goes out at --bwlimit=${o.bwlimit} (close -> on the replica):`,
    "",
    "| session | small files | p50 | p95 | max | big file | runs beside | replica |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const s of sessions) {
    const f = (x: number | null): string => (x === null ? "never" : `${x.toFixed(3)} s`);
    lines.push(`| ${s.mode} | ${s.latencySec.length} | ${f(s.summary.p50)} | ${f(s.summary.p95)} | ${f(s.summary.max)} | ${s.bigSec.toFixed(1)} s | ${s.runsBeside} | ${s.equal ? "equal" : "DATA LOSS"} |`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const o = parsed;
  installSignalCleanup();
  const rsync = await findExecutable("rsync", process.env["PATH"] ?? "/usr/bin:/bin");
  if (rsync === undefined) throw new Error("rsync is not installed");
  const loadStart = loadavg();
  const sessions: Session[] = [];
  for (const mode of o.modes) sessions.push(await runSession(mode, o, rsync));
  const doc = {
    date: new Date().toISOString(),
    machine: { ...describeMachine(REPO), loadavgStart: loadStart, loadavgEnd: loadavg() },
    options: o,
    sessions: sessions.map((s) => ({ ...s, latencySec: s.latencySec.map(round), summary: { ...s.summary, p50: round(s.summary.p50), p95: round(s.summary.p95), max: round(s.summary.max) } })),
  };
  const json = o.json ?? join(REPO, "bench", "results", `hol-${doc.date.slice(0, 10)}.json`);
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`${renderTable(sessions, o)}\n\n${json}\n`);
}

main().then(
  () => runCleanups(),
  async (error: unknown) => {
    process.stderr.write(`bench:hol: ${error instanceof Error ? error.message : String(error)}\n`);
    await runCleanups();
    process.exit(1);
  },
);
