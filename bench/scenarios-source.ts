import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { logSize, readSessionsSince, waitSessionsClosed } from "./daemon.ts";
import { readTree, readTreeRssKiB, readWatcherCpuSeconds } from "./proc.ts";
import { QUIET_MS, waitAll, type ScenarioCtx } from "./scenarios.ts";
import { fileName } from "./tree.ts";
import type { ScenarioOutcome } from "./types.ts";
import { runVerify } from "./verify.ts";

// Issue 10's measurements of the event source itself: a 50,000-file storm (watcher CPU per
// event, rsync excluded), a queue overflow with a stalled reader, and the soak (mixed operations
// with directory renames at a steady rate for minutes). Tools only: they need the tool's pids.

const now = (): number => performance.now();
const CONVERGE_TIMEOUT_MS = 300_000;

function rootsOf(ctx: ScenarioCtx): readonly number[] {
  if (ctx.roots === undefined) throw new Error("this scenario needs a running tool (not the floor)");
  return ctx.roots();
}

async function exists(path: string): Promise<boolean> {
  const { stat } = await import("node:fs/promises");
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** 50,000 new 1 KiB files in 500 new directories: watcher CPU (rsync excluded) per inotify event. */
export async function runStorm(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const dirs = 500;
  const perDir = 100;
  const roots = rootsOf(ctx);
  const cpu0 = readWatcherCpuSeconds(roots);
  const content = "x".repeat(1024);
  const first = now();
  for (let d = 0; d < dirs; d++) {
    const dir = `storm-${ctx.tag}-${d}`;
    ctx.undo.created.push(dir);
    mkdirSync(join(ctx.source, dir));
    for (let f = 0; f < perDir; f++) writeFileSync(join(ctx.source, dir, fileName(f)), content);
  }
  const last = now();
  const lastFile = join(ctx.replica, `storm-${ctx.tag}-${dirs - 1}`, fileName(perDir - 1));
  let converged: number | null = null;
  for (const deadline = now() + CONVERGE_TIMEOUT_MS; converged === null && now() < deadline; await sleep(20)) {
    if ((await exists(lastFile)) && (await runVerify(ctx.source, ctx.replica)).ok) converged = now();
  }
  await ctx.driver.waitIdle(last, QUIET_MS, ctx.idleTimeoutMs);
  const cpuSec = readWatcherCpuSeconds(ctx.roots?.() ?? roots) - cpu0;
  // Each file: IN_CREATE and IN_CLOSE_WRITE; each directory: IN_CREATE.
  const events = dirs * perDir * 2 + dirs;
  return {
    metrics: {
      replicaSec: converged === null ? null : (converged - last) / 1000,
      watcherCpuSec: cpuSec,
      cpuUsPerEvent: (cpuSec * 1e6) / events,
    },
    detail: { files: dirs * perDir, events, writeSec: (last - first) / 1000 },
  };
}

// Stops or resumes every process of the tool (its reader cannot drain the inotify queue meanwhile).
function signalTree(roots: readonly number[], signal: "SIGSTOP" | "SIGCONT"): void {
  for (const pid of readTree(roots)) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * The tool stalled (SIGSTOP) while 12,000 files are written into existing directories: 24,000
 * events, more than the default queue of 16,384, so the kernel drops events. Then SIGCONT:
 * → replica converged, → tool idle, rsync runs and bytes until then.
 */
export async function runOverflow(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const files = 12_000;
  const roots = rootsOf(ctx);
  const mark = await logSize(ctx.daemonLogPath);
  const dirs = ctx.layout.dirs;
  const written: string[] = [];
  signalTree(roots, "SIGSTOP");
  try {
    for (let i = 0; i < files; i++) {
      const rel = `${dirs[(i * 7919) % dirs.length] as string}/ovf-${ctx.tag}-${i}`;
      ctx.undo.created.push(rel);
      writeFileSync(join(ctx.source, rel), `overflow ${i}\n`);
      written.push(rel);
    }
  } finally {
    signalTree(roots, "SIGCONT");
  }
  const resumed = now();
  const { statSync } = await import("node:fs");
  const converged = await waitAll(
    written.map((rel) => () => statSync(join(ctx.replica, rel), { throwIfNoEntry: false }) !== undefined),
    CONVERGE_TIMEOUT_MS,
    5,
  );
  const idleAt = await ctx.driver.waitIdle(resumed, QUIET_MS, ctx.idleTimeoutMs);
  await waitSessionsClosed(ctx.daemonLogPath, mark, 3000);
  const sessions = await readSessionsSince(ctx.daemonLogPath, mark);
  return {
    metrics: {
      convergeSec: converged === null ? null : (converged - resumed) / 1000,
      idleSec: idleAt === null ? null : (idleAt - resumed) / 1000,
      runs: sessions.length,
    },
    lowerBound: idleAt === null ? ["idleSec", "runs"] : [],
    detail: { files },
  };
}

/**
 * The soak: `soakSeconds` of mixed operations at 50 per second in a subtree of its own (files
 * created, rewritten, deleted and renamed; directories made, renamed, moved into each other and
 * deleted), then → converged; RSS of the tool sampled every 10 s. The tool log (rtsync's
 * log.jsonl) tells whether a full sync ran meanwhile.
 */
export async function runSoak(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const roots = rootsOf(ctx);
  const top = `soak-${ctx.tag}`;
  ctx.undo.created.push(top);
  const base = join(ctx.source, top);
  // A deterministic pseudo-random sequence (mulberry32), so runs are comparable.
  let seed = 10;
  const random = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  // The directories and files that exist, as paths relative to `base`.
  const dirs: string[] = [];
  const files: string[] = [];
  let counter = 0;
  mkdirSync(base);
  for (let d = 0; d < 40; d++) {
    const dir = `d${d}/e${d % 7}`;
    mkdirSync(join(base, dir), { recursive: true });
    dirs.push(`d${d}`, dir);
    for (let f = 0; f < 10; f++) {
      const rel = `${dir}/f${f}`;
      writeFileSync(join(base, rel), `${rel}\n`);
      files.push(rel);
    }
  }
  await ctx.driver.waitIdle(now(), QUIET_MS, ctx.idleTimeoutMs); // the setup replicated, quiet again
  const renameDir = (from: string, to: string): void => {
    renameSync(join(base, from), join(base, to));
    const moved = (p: string): string => (p === from || p.startsWith(`${from}/`) ? to + p.slice(from.length) : p);
    for (let i = 0; i < dirs.length; i++) dirs[i] = moved(dirs[i] as string);
    for (let i = 0; i < files.length; i++) files[i] = moved(files[i] as string);
  };
  const op = (): void => {
    const r = random(100);
    if (dirs.length === 0) {
      const fresh = `t${counter++}`;
      mkdirSync(join(base, fresh));
      dirs.push(fresh);
    }
    const dir = dirs[random(dirs.length)] as string;
    if (r < 35 || files.length === 0) {
      const rel = `${dir}/n${counter++}`;
      writeFileSync(join(base, rel), `${rel} ${counter}\n`);
      files.push(rel);
    } else if (r < 60) {
      const rel = files[random(files.length)] as string;
      writeFileSync(join(base, rel), `rewritten ${counter++}\n`);
    } else if (r < 75) {
      const i = random(files.length);
      rmSync(join(base, files[i] as string));
      files.splice(i, 1);
    } else if (r < 88) {
      const i = random(files.length);
      const to = `${dir}/r${counter++}`;
      renameSync(join(base, files[i] as string), join(base, to));
      files[i] = to;
    } else if (r < 93) {
      const rel = `${dir}/m${counter++}`;
      mkdirSync(join(base, rel));
      dirs.push(rel);
      writeFileSync(join(base, rel, "first"), "first\n");
      files.push(`${rel}/first`);
    } else if (r < 99) {
      // a directory rename: in place, or into another directory (never into itself)
      const from = dir;
      const parent = random(2) === 0 ? (from.includes("/") ? from.slice(0, from.lastIndexOf("/")) : "") : (dirs[random(dirs.length)] as string);
      if (parent === from || parent.startsWith(`${from}/`)) return;
      renameDir(from, `${parent === "" ? "" : `${parent}/`}x${counter++}`);
    } else if (dirs.length > 20 && !dirs.some((d) => d.startsWith(`${dir}/`))) {
      // a directory without subdirectories deleted with its files (the tree neither dies out nor grows)
      rmSync(join(base, dir), { recursive: true });
      for (let i = dirs.length - 1; i >= 0; i--) if (dirs[i] === dir || (dirs[i] as string).startsWith(`${dir}/`)) dirs.splice(i, 1);
      for (let i = files.length - 1; i >= 0; i--) if ((files[i] as string).startsWith(`${dir}/`)) files.splice(i, 1);
    }
  };
  const rss: number[] = [];
  const start = now();
  const end = start + ctx.soakSeconds * 1000;
  let ops = 0;
  let nextSample = start;
  while (now() < end) {
    const due = start + (ops * 1000) / 50;
    if (due > now()) await sleep(due - now());
    op();
    ops++;
    if (now() >= nextSample) {
      rss.push(readTreeRssKiB(roots) / 1024);
      nextSample += 10_000;
    }
  }
  const last = now();
  let converged: number | null = null;
  for (const deadline = now() + CONVERGE_TIMEOUT_MS; converged === null && now() < deadline; await sleep(200)) {
    if ((await runVerify(ctx.source, ctx.replica)).ok) converged = now();
  }
  rss.push(readTreeRssKiB(roots) / 1024);
  const settled = rss.slice(Math.min(3, rss.length - 1));
  return {
    metrics: {
      ops,
      convergeSec: converged === null ? null : (converged - last) / 1000,
      rssFirstMiB: settled[0] ?? null,
      rssLastMiB: rss.at(-1) ?? null,
      rssMaxMiB: Math.max(...settled),
    },
    detail: { seconds: ctx.soakSeconds, rssMiBEvery10s: rss, files: files.length, dirs: dirs.length },
  };
}
