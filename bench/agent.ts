// `npm run bench:agent`: what issue 11 asks of `rtsync agent`, measured on this machine (not a
// test: nothing here fails on a number). Prints a Markdown table, writes every sample to
// bench/results/agent-<date>.json.
//
// - dead watcher -> restarted: kill -9 of the watcher, until the inventory records a new watcher
//   pid that runs; 20 kills, 11 s apart (a process that ran 10 s is restarted at once; sooner
//   deaths are crash-loop backoff, which is not what this measures);
// - manifest edit -> converged: a module comment changed in the manifest, until rsyncd.conf has it;
// - git commit -> converged: the same through `--git` (push to a local bare repository) with
//   --interval 5s, until rsyncd.conf has it;
// - at rest: the agent's own CPU (utime+stime) over 120 s from its second minute on, and its
//   VmRSS, with --listen and the default --interval (60s);
// - a /metrics scrape: 50 in a row after a warm-up.
import { spawn, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { installSignalCleanup, onCleanup, runCleanups } from "./cleanup.ts";
import { isAlive, readStat, ticksPerSecond } from "./proc.ts";
import { percentile } from "./stats.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const BIN = join(REPO, "dist/cli/bin.js");
const USAGE = "usage: npm run bench:agent -- [--quick]   (~8 minutes; --quick ~3)";
const unknown = process.argv.slice(2).filter((a) => a !== "--quick");
if (unknown.length > 0) {
  // --help included: this bench takes minutes, so anything it does not know stops it before it starts.
  process.stderr.write(`${unknown.includes("--help") ? "" : `unknown option ${unknown.join(" ")}\n`}${USAGE}\n`);
  process.exit(unknown.includes("--help") ? 0 : 2);
}
const quick = process.argv.includes("--quick");
const KILLS = quick ? 5 : 20;
const EDITS = quick ? 5 : 10;
const COMMITS = quick ? 3 : 5;
const REST_S = quick ? 30 : 120;
const PW = "bench-agent-pw";
const started = Date.now();
const log = (line: string): void => void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen({ host: "127.0.0.1", port: 0 }, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 10): Promise<number | null> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await check()) return performance.now() - t0;
    await sleep(stepMs);
  }
  return null;
}

const rssKiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
const cpuSeconds = (pid: number): number => {
  const s = readStat(pid);
  return s ? (s.utime + s.stime + s.cutime + s.cstime) / ticksPerSecond() : 0;
};

function manifest(dir: string, port: number, comment: string): string {
  return `version: 1
stateDir: ${dir}/state
users:
  demo: { password: { env: DEMO_PW } }
daemons:
  d1:
    address: 127.0.0.1
    port: ${port}
    uid: root
    gid: root
    useChroot: true
    hostsAllow: [127.0.0.1]
    modules:
      data: { path: ${dir}/replica, readOnly: false, authUsers: [demo], comment: "${comment}" }
watches:
  push:
    source: ${dir}/source
    target: rsync://demo@127.0.0.1:${port}/data
    fullSync: { schedule: "0 0 1 1 *" }
`;
}

interface Agent {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

async function startAgent(args: readonly string[]): Promise<Agent> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, "agent", ...args, "--listen", `127.0.0.1:${port}`], { env: { ...process.env, DEMO_PW: PW }, stdio: ["ignore", "ignore", "inherit"] });
  const pid = child.pid ?? 0;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await exited;
  };
  onCleanup(stop);
  const ok = await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 60_000, 100);
  if (ok === null) throw new Error("the agent did not converge within 60 s");
  return { pid, port, stop };
}

async function inventory(dir: string): Promise<{ daemons: Record<string, { pid: number }>; watchers: Record<string, { pid: number }> }> {
  return JSON.parse(await readFile(`${dir}/state/inventory.json`, "utf8").catch(() => '{"daemons":{},"watchers":{}}')) as never;
}

const ms = (x: number | undefined | null): string => (x === undefined || x === null ? "–" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

async function main(): Promise<void> {
  installSignalCleanup();
  const dir = await mkdtemp(join(tmpdir(), "rtsync-bench-agent-"));
  await chmod(dir, 0o755);
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, "source"));
  await writeFile(join(dir, "source", "a.txt"), "a\n");
  const port = await freePort();
  const file = join(dir, "rtsync.yaml");
  await writeFile(file, manifest(dir, port, "edit-0"));
  onCleanup(() => void execFileSync(process.execPath, [BIN, "down", file], { env: { ...process.env, DEMO_PW: PW }, stdio: "ignore" }));
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO, encoding: "utf8" }).trim() };

  log("agent: start");
  const agent = await startAgent([file]);

  // The first minute after a start is not rest: V8's memory reducer runs its garbage collections.
  log(`at rest: ${REST_S} s, after a minute to settle`);
  await sleep(60_000);
  const cpu0 = cpuSeconds(agent.pid);
  await sleep(REST_S * 1000);
  const restCpu = ((cpuSeconds(agent.pid) - cpu0) / REST_S) * 60;
  const rss = rssKiB(agent.pid) / 1024;
  results["rest"] = { cpuSecondsPerMinute: restCpu, rssMiB: rss, windowSeconds: REST_S };

  log("scrapes: 50");
  for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${agent.port}/metrics`).then((r) => r.text());
  const scrapes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await fetch(`http://127.0.0.1:${agent.port}/metrics`).then((r) => r.text());
    scrapes.push(performance.now() - t0);
  }
  results["scrape"] = scrapes;

  log(`manifest edits: ${EDITS}`);
  const conf = join(dir, "state/daemons/d1/rsyncd.conf");
  const edits: Array<number | null> = [];
  for (let i = 1; i <= EDITS; i++) {
    await sleep(500);
    await writeFile(file, manifest(dir, port, `edit-${i}`));
    edits.push(await waitUntil(async () => (await readFile(conf, "utf8")).includes(`edit-${i}`), 30_000));
  }
  results["edit"] = edits;

  log(`kills: ${KILLS}, 11 s apart`);
  const kills: Array<number | null> = [];
  for (let i = 0; i < KILLS; i++) {
    await sleep(11_000);
    const pid = (await inventory(dir)).watchers["push"]?.pid ?? 0;
    process.kill(pid, "SIGKILL");
    kills.push(
      await waitUntil(async () => {
        const now = (await inventory(dir)).watchers["push"]?.pid;
        return now !== undefined && now !== pid && isAlive(now);
      }, 30_000),
    );
  }
  results["kill"] = kills;
  await agent.stop();

  log(`git commits: ${COMMITS}, --interval 5s`);
  const bare = join(dir, "repo.git");
  const work = join(dir, "work");
  const git = (...args: string[]) => execFileSync("git", ["-C", work, ...args], { encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@b", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@b" } });
  execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  execFileSync("git", ["init", "--quiet", "--initial-branch=main", work]);
  git("remote", "add", "origin", `file://${bare}`);
  const push = (text: string) => {
    writeFileSync(join(work, "rtsync.yaml"), text);
    git("add", "rtsync.yaml");
    git("commit", "--quiet", "-m", "bench");
    git("push", "--quiet", "origin", "HEAD:main");
  };
  // The checkout is another manifest path: the agent of the file above was stopped and its
  // processes are taken down first, so the checkout's manifest owns what it starts.
  execFileSync(process.execPath, [BIN, "down", file], { env: { ...process.env, DEMO_PW: PW }, stdio: "ignore" });
  push(manifest(dir, port, "git-0"));
  const checkout = join(dir, "checkout");
  onCleanup(() => void execFileSync(process.execPath, [BIN, "down", join(checkout, "rtsync.yaml")], { env: { ...process.env, DEMO_PW: PW }, stdio: "ignore" }));
  const gitAgent = await startAgent(["--git", `file://${bare}`, "--checkout", checkout, "--interval", "5s"]);
  const commits: Array<number | null> = [];
  for (let i = 1; i <= COMMITS; i++) {
    await sleep(1000 + Math.random() * 5000);
    push(manifest(dir, port, `git-${i}`));
    commits.push(await waitUntil(async () => (await readFile(conf, "utf8")).includes(`git-${i}`), 30_000));
  }
  results["git"] = commits;
  await gitAgent.stop();

  const row = (what: string, samples: Array<number | null>, goal: string) => {
    const ok = samples.filter((s): s is number => s !== null);
    return `| ${what} | ${samples.length} | ${ms(percentile(ok, 50))} | ${ms(ok.length ? Math.max(...ok) : null)} | ${goal} |${samples.length - ok.length ? ` ${samples.length - ok.length} timed out` : ""}`;
  };
  const table = [
    `rtsync agent, ${results["date"]}, commit ${results["commit"]}, ${cpus().length} cores (${results["cpu"]}), node ${process.version}`,
    "",
    "| measure | samples | p50 | max | goal |",
    "|---|---|---|---|---|",
    row("dead watcher (kill -9) -> restarted", kills, "≤ 2 s"),
    row("manifest edit -> converged", edits, "≤ 2 s"),
    row("git commit -> converged (--interval 5s)", commits, "≤ interval + 2 s"),
    row("/metrics scrape", scrapes, "≤ 50 ms"),
    `| agent at rest: CPU per minute | ${REST_S} s | ${restCpu.toFixed(3)} s | – | ≤ 0.05 s |`,
    `| agent at rest: RSS | 1 | ${rss.toFixed(1)} MiB | – | ≤ 60 MB |`,
  ].join("\n");
  process.stdout.write(`${table}\n`);
  await mkdir(join(REPO, "bench/results"), { recursive: true });
  const out = join(REPO, `bench/results/agent-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`samples: ${out}`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
