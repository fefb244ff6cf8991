// `npm run bench:ssh`: issue 21's measurements of an ssh:// target against lsyncd 2.2.3's two ssh
// layers, all to one real sshd on 127.0.0.1 (this benchmark's own, test/helpers/sshd.ts), one tool
// at a time, each on a fresh copy of the same tree. Not a test: nothing fails on a number.
//
// Tools:
// - rtsync: one watch, target ssh://ACCOUNT@127.0.0.1:PORT/REPLICA (pinned host key, one master
//   connection per lane), delay 0. Every tool logs in as one test account whose shell is /bin/sh.
// - lsyncd-rsyncssh: `default.rsyncssh` (rsync over ssh, renames and deletes as `ssh mv`/`rm`),
//   delay 0, the same key and pinned known_hosts.
// - lsyncd-rsync-rsh: `default.rsync` with rsync's rsh set to the same ssh, delay 0.
// lsyncd runs ssh as its layers do (no ControlMaster): the stock configuration.
//
// Scenarios, after the initial sync settled (no rsync/ssh in the tool's tree for 2.5 s):
// - latency: single small writes, each after 300 ms of quiet; close -> the file has its size on
//   the replica (stat polled every 1 ms). p50 and p95.
// - burst: 1,000 files of 4 KiB in 10 new directories; last write -> all visible.
// - rename: a directory of 100 files of 1 MiB renamed; the bytes sent again, counted on the
//   replica: the size of every file under the new name whose inode is not the one the old name
//   had (a hard link or an `mv` keeps it; a re-send makes a new file). And rtsync's own log.
//
// After each tool the replica must equal the source (`rsync -anc --delete -i` prints nothing),
// else the table says DATA LOSS.
import { randomBytes } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { makeKeypair, startSshd } from "../test/helpers/sshd.ts";
import { onCleanup, runBenchMain, runCleanups, startBench } from "./cleanup.ts";
import { describeMachine } from "./machine.ts";
import { TreeMonitor } from "./monitor.ts";
import { lsyncdVersion } from "./peers/lsyncd.ts";
import { runCli } from "./peers/rtsync.ts";
import { stopTree } from "./proc.ts";
import { waitAll } from "./scenarios.ts";
import { percentile } from "./stats.ts";
import { fileName, filesInDir, planTree, writeTree } from "./tree.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const TOOLS = ["rtsync", "lsyncd-rsyncssh", "lsyncd-rsync-rsh"] as const;
type Tool = (typeof TOOLS)[number];

const USAGE = `usage: npm run bench:ssh -- [options]
  --files 10000       files in the tree (~100 per directory)
  --writes 30         single writes of the latency scenario
  --tools LIST        ${TOOLS.join(",")}
  --json FILE         results (default bench/results/ssh-<date>.json)
  --quick             2,000 files, 10 writes, a 20 MiB rename`;

interface Options {
  readonly files: number;
  readonly writes: number;
  readonly tools: readonly Tool[];
  readonly json: string | undefined;
  readonly bigFiles: number;
}

function parse(argv: string[]): Options | string {
  let files = 10_000;
  let writes = 30;
  let tools: readonly Tool[] = TOOLS;
  let json: string | undefined;
  let bigFiles = 100;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === "--help" || a === "-h") return USAGE;
    if (a === "--quick") {
      files = 2000;
      writes = 10;
      bigFiles = 20;
    } else if (a === "--files" && v !== undefined) {
      files = Number(v);
      i++;
    } else if (a === "--writes" && v !== undefined) {
      writes = Number(v);
      i++;
    } else if (a === "--json" && v !== undefined) {
      json = v;
      i++;
    } else if (a === "--tools" && v !== undefined) {
      const list = v.split(",");
      const bad = list.find((t) => !(TOOLS as readonly string[]).includes(t));
      if (bad !== undefined) return `unknown tool ${bad}\n${USAGE}`;
      tools = list as Tool[];
      i++;
    } else return `unknown option ${a ?? ""}\n${USAGE}`;
  }
  return { files, writes, tools, json, bigFiles };
}

interface ToolResult {
  readonly tool: Tool;
  readonly initialSyncSec: number | null;
  readonly latency: { readonly p50: number | null; readonly p95: number | null; readonly timeouts: number; readonly samples: readonly (number | null)[] };
  readonly burstSec: number | null;
  readonly rename: { readonly dirBytes: number; readonly resentBytes: number; readonly percent: number; readonly visibleSec: number | null; readonly rtsyncLogBytes?: number };
  readonly equal: boolean;
}

const now = (): number => performance.now();
const size = (p: string): number | undefined => statSync(p, { throwIfNoEntry: false })?.size;

// A tool's tree is busy while an rsync or ssh runs in it (lsyncd's `ssh mv` included); an
// rtsync master connection ("ssh: … [mux]") is not work.
function busyMonitor(roots: () => readonly number[]): TreeMonitor {
  return new TreeMonitor(roots, 5, (pid, comm) => {
    if (comm === "rsync") return true;
    if (comm !== "ssh") return false;
    try {
      return !readFileText(`/proc/${pid}/cmdline`).includes("[mux]");
    } catch {
      return false;
    }
  });
}

function readFileText(p: string): string {
  return readFileSync(p, "latin1");
}

async function waitQuiet(m: TreeMonitor, quietMs: number, timeoutMs: number): Promise<boolean> {
  const until = now() + timeoutMs;
  for (;;) {
    if (!m.rsyncRunning && now() - Math.max(m.lastRsyncAt, 0) >= quietMs) return true;
    if (now() > until) return false;
    await sleep(20);
  }
}

function sameTree(source: string, replica: string): boolean {
  // Names, types, sizes and contents: the replica is written by the login account, not root.
  const r = spawnSync("rsync", ["-rlnc", "--delete", "-i", `${source}/`, `${replica}/`], { encoding: "utf8" });
  return r.status === 0 && r.stdout.split("\n").filter((l) => l !== "" && !/^\.d\S* \.\/$/.test(l)).length === 0;
}

const inodes = (dir: string): Map<string, number> => new Map(readdirSync(dir).map((n) => [n, statSync(join(dir, n)).ino]));

async function main(): Promise<number> {
  const start = await startBench(parse, USAGE, "rtsync-bench-ssh-");
  if (typeof start === "number") return start;
  const { o, root } = start;
  const lsyncd = lsyncdVersion();
  const sshd = await startSshd();
  onCleanup(() => sshd.dispose());
  // The tools log in as an account of their own with /bin/sh, as an sshReceiver's: root's bash
  // would read ~/.bashrc on every session (bash does when sshd runs it), which cost ~80 ms here.
  const account = `rtsyncbench-${randomBytes(3).toString("hex")}`;
  const made = spawnSync("useradd", ["-r", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-p", "*", account], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`useradd ${account}: ${made.stderr}`);
  onCleanup(async () => {
    spawnSync("userdel", [account]);
    spawnSync("groupdel", [account]);
  });
  const key = await makeKeypair(root, "id_bench");
  await sshd.setAuthorizedKeys([key.publicLine]);
  await chmod(sshd.authorizedKeys, 0o644); // sshd reads it as the account
  const knownHosts = join(root, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKey}\n`, { mode: 0o600 });
  const sshCmd = `/usr/bin/ssh -F /dev/null -i ${key.privateFile} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -p ${sshd.port}`;
  const layout = planTree(o.files);
  const big = randomBytes(1024 * 1024);
  const results: ToolResult[] = [];

  for (const tool of o.tools) {
    if (tool !== "rtsync" && lsyncd === undefined) continue;
    const dir = join(root, tool);
    const source = join(dir, "source");
    const replica = join(dir, "replica");
    await mkdir(join(source, "big", "photos"), { recursive: true });
    await mkdir(replica, { recursive: true });
    spawnSync("chown", [`${account}:`, replica]);
    await writeTree(source, layout);
    for (let i = 0; i < o.bigFiles; i++) await writeFile(join(source, "big", "photos", `img-${i}.bin`), big);
    let roots: () => readonly number[];
    let stop: () => Promise<void>;
    const started = now();
    if (tool === "rtsync") {
      const manifest = join(dir, "rtsync.yaml");
      await writeFile(
        manifest,
        `version: 1\nstateDir: ${join(dir, "state")}\nwatches:\n  w:\n    source: ${source}\n    delay: 0\n    fullSync: { schedule: "0 0 1 1 *" }\n    targets:\n      - url: ssh://${account}@127.0.0.1:${sshd.port}${replica}\n        ssh: { identityFile: ${key.privateFile}, hostKey: "${sshd.hostKey}" }\n`,
      );
      const r = await runCli(["apply", manifest]);
      if (r.code !== 0) throw new Error(`rtsync apply: ${r.output}`);
      const hostPid = (): number[] => {
        const p = spawnSync("pgrep", ["-f", `__host ${join(dir, "state")}`], { encoding: "utf8" }).stdout.trim().split("\n")[0];
        return p ? [Number(p)] : [];
      };
      roots = hostPid;
      stop = async () => {
        await runCli(["down", manifest]);
      };
      onCleanup(stop);
    } else {
      const config = join(dir, "lsyncd.lua");
      const lua = (s: string): string => JSON.stringify(s);
      const body =
        tool === "lsyncd-rsyncssh"
          ? [
              "  default.rsyncssh,",
              `  host = ${lua(`${account}@127.0.0.1`)},`,
              `  targetdir = ${lua(replica)},`,
              "  rsync = { archive = true },",
              `  ssh = { port = ${sshd.port}, identityFile = ${lua(key.privateFile)}, options = { BatchMode = "yes", StrictHostKeyChecking = "yes", UserKnownHostsFile = ${lua(knownHosts)}, IdentitiesOnly = "yes" } },`,
            ]
          : ["  default.rsync,", `  target = ${lua(`${account}@127.0.0.1:${replica}`)},`, `  rsync = { archive = true, rsh = ${lua(sshCmd)} },`];
      writeFileSync(
        config,
        [
          "settings {",
          `  logfile = ${lua(join(dir, "lsyncd.log"))},`,
          `  statusFile = ${lua(join(dir, "lsyncd.status"))},`,
          "  nodaemon = true,",
          "  maxProcesses = 1,",
          "}",
          "sync {",
          ...body,
          `  source = ${lua(source)},`,
          "  delay = 0,",
          "}",
          "",
        ].join("\n"),
      );
      const child = spawn("lsyncd", [config], { stdio: "ignore", detached: true });
      const pid = child.pid;
      if (pid === undefined) throw new Error("could not start lsyncd");
      child.unref();
      roots = () => [pid];
      stop = () => stopTree(pid, { group: true });
      onCleanup(stop);
    }
    const monitor = busyMonitor(roots);
    monitor.start();
    // Initial sync: the last file of the tree on the replica, then quiet.
    const lastDir = layout.dirs.length - 1;
    const lastFile = join(replica, layout.dirs[lastDir] ?? "", fileName(filesInDir(layout, lastDir) - 1));
    const initial = await waitAll([() => size(join(replica, "big", "photos", `img-${o.bigFiles - 1}.bin`)) === big.length, () => size(lastFile) !== undefined], 600_000, 20);
    await waitQuiet(monitor, 2500, 600_000);
    const initialSyncSec = initial === null ? null : (initial - started) / 1000;

    // latency
    const samples: (number | null)[] = [];
    for (let i = 0; i < o.writes; i++) {
      await waitQuiet(monitor, 300, 60_000);
      const rel = `${layout.dirs[(i * 7919) % layout.dirs.length] ?? ""}/lat-${i}.txt`;
      const content = `latency probe ${i}\n`.repeat(3);
      writeFileSync(join(source, rel), content);
      const closed = now();
      const seen = await waitAll([() => size(join(replica, rel)) === content.length], 30_000);
      samples.push(seen === null ? null : (seen - closed) / 1000);
    }
    await waitQuiet(monitor, 2500, 120_000);
    const got = samples.filter((s): s is number => s !== null);

    // burst
    const conditions: (() => boolean)[] = [];
    const data = randomBytes(4096);
    for (let d = 0; d < 10; d++) {
      mkdirSync(join(source, `burst-${d}`));
      for (let f = 0; f < 100; f++) {
        writeFileSync(join(source, `burst-${d}`, `f${f}.bin`), data);
        conditions.push(() => size(join(replica, `burst-${d}`, `f${f}.bin`)) === 4096);
      }
    }
    const last = now();
    const burstAt = await waitAll(conditions, 300_000);
    await waitQuiet(monitor, 2500, 300_000);

    // rename
    const before = inodes(join(replica, "big", "photos"));
    const logBytes = (): number => {
      if (tool !== "rtsync") return 0;
      const text = readFileText(join(dir, "state", "watches", "w", "log.jsonl"));
      return text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; bytes?: number | null })
        .reduce((n, r) => n + (r.type === "run" ? (r.bytes ?? 0) : 0), 0);
    };
    const bytes0 = logBytes();
    renameSync(join(source, "big", "photos"), join(source, "big", "photos-renamed"));
    const renamed = now();
    const visible = await waitAll(
      [
        () => Array.from({ length: o.bigFiles }, (_, i) => size(join(replica, "big", "photos-renamed", `img-${i}.bin`)) === big.length).every(Boolean),
        () => size(join(replica, "big", "photos", "img-0.bin")) === undefined,
      ],
      300_000,
    );
    await waitQuiet(monitor, 2500, 300_000);
    const after = inodes(join(replica, "big", "photos-renamed"));
    let resent = 0;
    for (const [name, ino] of after) if (before.get(name) !== ino) resent += size(join(replica, "big", "photos-renamed", name)) ?? 0;
    monitor.stop();
    const equal = sameTree(source, replica);
    await stop();
    const dirBytes = o.bigFiles * big.length;
    results.push({
      tool,
      initialSyncSec,
      latency: { p50: percentile(got, 50) ?? null, p95: percentile(got, 95) ?? null, timeouts: samples.length - got.length, samples },
      burstSec: burstAt === null ? null : (burstAt - last) / 1000,
      rename: { dirBytes, resentBytes: resent, percent: (100 * resent) / dirBytes, visibleSec: visible === null ? null : (visible - renamed) / 1000, ...(tool === "rtsync" ? { rtsyncLogBytes: logBytes() - bytes0 } : {}) },
      equal,
    });
    process.stderr.write(`bench:ssh: ${tool} done\n`);
  }

  const ms = (s: number | null): string => (s === null ? "timeout" : `${Math.round(s * 1000)} ms`);
  const lines = [
    `| tool | latency p50 | latency p95 | burst 1,000 files: last write -> visible | renamed ${o.bigFiles} MiB dir: bytes sent again | replica |`,
    "|---|---:|---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${r.tool} | ${ms(r.latency.p50)} | ${ms(r.latency.p95)} | ${ms(r.burstSec)} | ${(r.rename.resentBytes / 1048576).toFixed(2)} MiB (${r.rename.percent.toFixed(2)} %)${r.rename.rtsyncLogBytes === undefined ? "" : `, rsync sent ${(r.rename.rtsyncLogBytes / 1024).toFixed(0)} KiB`} | ${r.equal ? "equal" : "DATA LOSS"} |`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  const file = o.json ?? join(REPO, "bench", "results", `ssh-${new Date().toISOString().slice(0, 10)}.json`);
  await mkdir(join(file, ".."), { recursive: true });
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), machine: describeMachine(REPO), lsyncd: lsyncd ?? null, files: o.files, writes: o.writes, results }, null, 2)}\n`);
  process.stderr.write(`bench:ssh: results in ${file}\n`);
  // sshd, the tools' trees and the temp root (runBenchMain cleans up only after a throw).
  await runCleanups();
  return 0;
}

runBenchMain(main);
