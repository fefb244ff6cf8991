import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, percentile } from "./stats.ts";

// `npm run bench:cli`: wall time of the short commands an operator types, the process start
// included (what `time rtsync validate …` shows), against issue 14's goals on the repository's
// two-host example: `rtsync validate` ≤ 0.20 s, `rtsync diff` ≤ 0.25 s (as inotify-master: a
// sysctl, a watcher). `node -e 0` is the floor no Node CLI goes below. Commands run interleaved,
// so a change in the machine's load hits all of them alike; with the V8 code cache (as installed)
// and without it (RTSYNC_CODE_CACHE=off). Nothing here changes the machine: diff only reads.

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(REPO, "dist", "cli", "bin.js");
const MANIFEST = join(REPO, "examples", "master-slave.yaml");

interface Command {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly goalSec?: number;
  /** Exit codes that are a normal answer (diff: 2 = the machine differs from the manifest). */
  readonly ok?: readonly number[];
}

const COMMANDS: readonly Command[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "rtsync validate", args: [BIN, "validate", MANIFEST], goalSec: 0.2 },
  { name: "rtsync diff --node inotify-master", args: [BIN, "diff", MANIFEST, "--node", "inotify-master"], goalSec: 0.25, ok: [0, 2] },
  { name: "rtsync validate, no code cache", args: [BIN, "validate", MANIFEST], env: { RTSYNC_CODE_CACHE: "off" } },
  { name: "rtsync diff, no code cache", args: [BIN, "diff", MANIFEST, "--node", "inotify-master"], env: { RTSYNC_CODE_CACHE: "off" }, ok: [0, 2] },
];

function timeOnce(c: Command): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RSYNC_BACKUP_PASSWORD: "bench-only", ...c.env } });
  const sec = (performance.now() - t0) / 1000;
  if (!(c.ok ?? [0]).includes(r.status ?? -1)) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.toString().trim().split("\n").at(-1) ?? ""}`);
  return sec;
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes("--help")) {
    console.log("usage: npm run bench:cli -- [--runs 21]");
    return;
  }
  const at = argv.indexOf("--runs");
  const runs = at >= 0 ? Number(argv[at + 1]) : 21;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a whole number ≥ 1");
  for (const c of COMMANDS) timeOnce(c); // warm the page cache (and make the code cache, if it is missing)
  const samples = new Map<string, number[]>(COMMANDS.map((c) => [c.name, []]));
  const load = [loadavg()[0] ?? 0];
  for (let i = 0; i < runs; i++) for (const c of COMMANDS) samples.get(c.name)?.push(timeOnce(c));
  load.push(loadavg()[0] ?? 0);
  const rows = COMMANDS.map((c) => {
    const s = samples.get(c.name) ?? [];
    return { command: c.name, medianSec: median(s), minSec: Math.min(...s), p90Sec: percentile(s, 90), goalSec: c.goalSec, samples: s };
  });
  const f = (v: number | undefined) => (v === undefined ? "–" : v.toFixed(3));
  console.log(`rtsync CLI start-up, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, Node ${process.version}, ${runs} runs interleaved, load ${load.map((l) => l.toFixed(2)).join(" → ")}\n`);
  console.log("| command | median (s) | min (s) | p90 (s) | goal |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    const goal = r.goalSec === undefined ? "" : `≤ ${r.goalSec.toFixed(2)} s: ${(r.medianSec ?? Infinity) <= r.goalSec ? "met" : "missed"}`;
    console.log(`| ${r.command} | ${f(r.medianSec)} | ${f(r.minSec)} | ${f(r.p90Sec)} | ${goal} |`);
  }
  const out = join(REPO, "bench", "results", `cli-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: cpus().length, load, runs, rows }, null, 2)}\n`);
  console.log(`\nJSON: ${out}`);
}

main();
