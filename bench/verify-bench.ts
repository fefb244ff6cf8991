// `npm run bench:verify -- [--sizes 100000,1000000] [--runs 3] [--dir DIR] [--json FILE]`:
// `rtsync verify` against a bare `rsync -rlni --delete` of the same trees, for a local target and
// a daemon target on 127.0.0.1, with the replica equal and with 10 % of its files missing. Wall
// time and peak RSS of each command's process tree (rtsync's node and its rsync; the daemon's
// side is in neither), sampled every 20 ms; medians of interleaved runs.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BENCH_USER, startRsyncDaemon, MODULE } from "./daemon.ts";
import { readTreeRssKiB } from "./proc.ts";
import { fileName, planTree, writeTree } from "./tree.ts";

const RTSYNC = fileURLToPath(new URL("../dist/cli/bin.js", import.meta.url));

interface Options {
  sizes: number[];
  runs: number;
  dir: string;
  json?: string;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { sizes: [100_000, 1_000_000], runs: 3, dir: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1] ?? "";
    switch (argv[i]) {
      case "--sizes":
        o.sizes = value.split(",").map(Number);
        i++;
        break;
      case "--runs":
        o.runs = Number(value);
        i++;
        break;
      case "--dir":
        o.dir = value;
        i++;
        break;
      case "--json":
        o.json = value;
        i++;
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return o;
}

interface Sample {
  readonly seconds: number;
  readonly peakMiB: number;
  readonly exitCode: number;
}

// Runs a command with stdout and stderr to /dev/null, sampling its tree's RSS every 20 ms.
async function measure(cmd: string, args: readonly string[]): Promise<Sample> {
  const started = performance.now();
  const child = spawn(cmd, args, { stdio: "ignore", env: { ...process.env, LC_ALL: "C" } });
  let peak = 0;
  const timer = setInterval(() => {
    if (child.pid !== undefined) peak = Math.max(peak, readTreeRssKiB([child.pid]));
  }, 20);
  const exitCode = await new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
  clearInterval(timer);
  return { seconds: (performance.now() - started) / 1000, peakMiB: peak / 1024, exitCode };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function run(cmd: string, args: readonly string[], what: string, expect: number): Promise<Sample> {
  const s = await measure(cmd, args);
  if (s.exitCode !== expect) throw new Error(`${what} exited ${s.exitCode}, expected ${expect}: ${cmd} ${args.join(" ")}`);
  return s;
}

const o = parseOptions(process.argv.slice(2));
const results: Record<string, unknown>[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);

for (const size of o.sizes) {
  const dir = await mkdtemp(join(o.dir, "rtsync-verify-bench-"));
  await chmod(dir, 0o755);
  try {
    const src = join(dir, "src");
    const dst = join(dir, "dst");
    const layout = planTree(size);
    log(`${size} files: writing the tree`);
    const built = await writeTree(src, layout);
    await mkdir(dst);
    log(`${size} files: tree in ${built.toFixed(0)} s; copying the replica`);
    await run("rsync", ["-a", `${src}/`, `${dst}/`], "rsync -a", 0);
    const daemon = await startRsyncDaemon(dir, dst);
    try {
      const stateDir = join(dir, "state");
      const manifest = join(dir, "rtsync.yaml");
      await writeFile(
        manifest,
        [
          "version: 1",
          `stateDir: ${stateDir}`,
          "users:",
          `  ${BENCH_USER}: { password: { file: ${daemon.passwordFile} } }`,
          "watches:",
          `  local: { source: ${src}, target: ${dst} }`,
          `  daemon: { source: ${src}, target: "rsync://${BENCH_USER}@127.0.0.1:${daemon.port}/${MODULE}" }`,
          "",
        ].join("\n"),
      );
      // verify uses the watch's own password file, which apply would have written.
      await mkdir(join(stateDir, "watches", "daemon"), { recursive: true });
      await writeFile(join(stateDir, "watches", "daemon", "password"), "bench-password\n", { mode: 0o600 });
      const targets = {
        local: { bare: [`${src}/`, `${dst}/`], watch: "local" },
        daemon: { bare: ["--no-motd", `--password-file=${daemon.passwordFile}`, `${src}/`, `rsync://${BENCH_USER}@127.0.0.1:${daemon.port}/${MODULE}/`], watch: "daemon" },
      };
      // 10 % of the replica's files removed: the itemized output rtsync reads is then size/10 lines.
      const removed = layout.dirs.filter((_, d) => d % 10 === 0);
      for (const state of ["equal", "10% missing"] as const) {
        if (state === "10% missing") for (const d of removed) for (let i = 0; i < 100; i++) await unlink(join(dst, d, fileName(i))).catch(() => undefined);
        const expectCode = state === "equal" ? 0 : 2;
        for (const [target, t] of Object.entries(targets)) {
          await run("rsync", ["-rlni", "--delete", ...t.bare], "warm-up", 0); // the page cache, for both
          const bare: Sample[] = [];
          const rtsync: Sample[] = [];
          for (let r = 0; r < o.runs; r++) {
            bare.push(await run("rsync", ["-rlni", "--delete", ...t.bare], "bare rsync", 0));
            rtsync.push(await run(process.execPath, [RTSYNC, "verify", manifest, "--watch", t.watch, "--node", "bench"], "rtsync verify", expectCode));
          }
          const row = {
            files: size,
            target,
            state,
            bareSeconds: median(bare.map((s) => s.seconds)),
            rtsyncSeconds: median(rtsync.map((s) => s.seconds)),
            barePeakMiB: median(bare.map((s) => s.peakMiB)),
            rtsyncPeakMiB: median(rtsync.map((s) => s.peakMiB)),
            samples: { bare, rtsync },
          };
          results.push(row);
          log(
            `${size} ${target} ${state}: rsync ${row.bareSeconds.toFixed(2)} s ${row.barePeakMiB.toFixed(1)} MiB, ` +
              `rtsync verify ${row.rtsyncSeconds.toFixed(2)} s ${row.rtsyncPeakMiB.toFixed(1)} MiB ` +
              `(${(row.rtsyncSeconds / row.bareSeconds).toFixed(2)}x time, ${(row.rtsyncPeakMiB / row.barePeakMiB).toFixed(2)}x RSS)`,
          );
        }
      }
    } finally {
      await daemon.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const doc = { date: new Date().toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model, kernel: release(), node: process.version }, results };
if (o.json !== undefined) await writeFile(o.json, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write("| files | target | replica | bare rsync -rlni --delete | rtsync verify | time | peak RSS |\n|---|---|---|---|---|---|---|\n");
for (const r of results as Array<{ files: number; target: string; state: string; bareSeconds: number; rtsyncSeconds: number; barePeakMiB: number; rtsyncPeakMiB: number }>) {
  process.stdout.write(
    `| ${r.files.toLocaleString("en-US")} | ${r.target} | ${r.state} | ${r.bareSeconds.toFixed(2)} s, ${r.barePeakMiB.toFixed(1)} MiB | ` +
      `${r.rtsyncSeconds.toFixed(2)} s, ${r.rtsyncPeakMiB.toFixed(1)} MiB | ${(r.rtsyncSeconds / r.bareSeconds).toFixed(2)}× | ${(r.rtsyncPeakMiB / r.barePeakMiB).toFixed(2)}× |\n`,
  );
}
