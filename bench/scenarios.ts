import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { logSize, readSessionsSince, waitSessionsClosed } from "./daemon.ts";
import { sumReceived } from "./daemon-log.ts";
import type { Driver } from "./driver.ts";
import type { ChangedPath } from "./filter.ts";
import { summarizeLatency } from "./stats.ts";
import { fileName, filesInDir, type TreeLayout } from "./tree.ts";
import type { ScenarioOutcome } from "./types.ts";

// The change scenarios, written once against a Driver so the tools and the floor run the same
// steps. Each records what it changed in `undo`, so the session can put the source tree back.

export interface Undo {
  /** paths (relative) created in the source: removed afterwards */
  readonly created: string[];
  /** [from, to]: renamed back afterwards */
  readonly renamed: [string, string][];
  /** files of the base tree deleted: written again afterwards */
  readonly deleted: { readonly dir: number; readonly index: number }[];
}

export interface ScenarioCtx {
  readonly source: string;
  readonly replica: string;
  readonly layout: TreeLayout;
  /** unique per session, part of every new name */
  readonly tag: string;
  readonly driver: Driver;
  readonly daemonLogPath: string;
  readonly idleSeconds: number;
  readonly latencyWrites: number;
  readonly idleTimeoutMs: number;
  /** length of the soak scenario */
  readonly soakSeconds: number;
  readonly undo: Undo;
  /** The tool's root pids (tools only; the floor has none). */
  readonly roots?: () => readonly number[];
}

/** A quiet spell this long without an rsync in the tool's tree means it is idle. Longer than lsyncd's 1 s delay. */
export const QUIET_MS = 2500;
/** Between the single writes of the latency scenario. */
const LATENCY_QUIET_MS = 300;
const CONVERGE_TIMEOUT_MS = 120_000;
/** How long a finished client's session may take to show up in the daemon's log. */
const SESSION_LOG_MS = 3000;

const now = (): number => performance.now();
const sec = (ms: number | null): number | null => (ms === null ? null : ms / 1000);

function size(path: string): number | undefined {
  return statSync(path, { throwIfNoEntry: false })?.size;
}

/** Polls the conditions in order, each until it holds; resolves with the time all held, or null. */
export async function waitAll(conditions: readonly (() => boolean)[], timeoutMs: number, pollMs = 1): Promise<number | null> {
  const until = now() + timeoutMs;
  let i = 0;
  for (;;) {
    while (i < conditions.length && (conditions[i] as () => boolean)()) i++;
    if (i === conditions.length) return now();
    if (now() > until) return null;
    await sleep(pollMs);
  }
}

async function bytesAndRuns(ctx: ScenarioCtx, mark: number): Promise<{ runs: number; sentKiB: number }> {
  // rsyncd logs a session's totals just after the client hangs up
  await waitSessionsClosed(ctx.daemonLogPath, mark, SESSION_LOG_MS);
  const sessions = await readSessionsSince(ctx.daemonLogPath, mark);
  return { runs: sessions.length, sentKiB: sumReceived(sessions) / 1024 };
}

export async function runIdle(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const mark = await logSize(ctx.daemonLogPath);
  const cpu0 = ctx.driver.cpuSeconds();
  await sleep(ctx.idleSeconds * 1000);
  const cpuSec = ctx.driver.cpuSeconds() - cpu0;
  const { runs } = await bytesAndRuns(ctx, mark);
  return { metrics: { cpuSec, runs }, detail: { seconds: ctx.idleSeconds } };
}

export async function runLatency(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const samples: (number | null)[] = [];
  const mark = await logSize(ctx.daemonLogPath);
  const dirs = ctx.layout.dirs;
  for (let i = 0; i < ctx.latencyWrites; i++) {
    await ctx.driver.waitIdle(now(), LATENCY_QUIET_MS, ctx.idleTimeoutMs);
    const rel = `${dirs[(i * 7919) % dirs.length]}/lat-${ctx.tag}-${i}.txt`;
    const content = `latency probe ${i} of ${ctx.tag}\n`.repeat(3);
    ctx.undo.created.push(rel);
    writeFileSync(join(ctx.source, rel), content);
    const closed = now();
    ctx.driver.afterChanges([{ path: rel, kind: "file" }]);
    const target = join(ctx.replica, rel);
    const seen = await waitAll([() => size(target) === content.length], 30_000);
    samples.push(seen === null ? null : (seen - closed) / 1000);
  }
  await ctx.driver.waitIdle(now(), LATENCY_QUIET_MS, ctx.idleTimeoutMs);
  const { runs } = await bytesAndRuns(ctx, mark);
  const s = summarizeLatency(samples);
  return { metrics: { p50: s.p50, p95: s.p95, max: s.max, timeouts: s.timeouts, runs }, detail: { samples } };
}

/** Waits for the tool after a change: on the replica, then idle. Metrics are seconds after `last`. */
async function settle(ctx: ScenarioCtx, last: number, conditions: readonly (() => boolean)[], mark: number, cpu0: number) {
  const converged = await waitAll(conditions, CONVERGE_TIMEOUT_MS);
  const idleAt = await ctx.driver.waitIdle(last, QUIET_MS, ctx.idleTimeoutMs);
  const cpuSec = ctx.driver.cpuSeconds() - cpu0;
  const { runs, sentKiB } = await bytesAndRuns(ctx, mark);
  const idleSec = idleAt === null ? null : sec(Math.max(idleAt, converged ?? idleAt) - last);
  return {
    convergedSec: converged === null ? null : sec(converged - last),
    idleSec,
    cpuSec,
    runs,
    sentKiB,
    // still busy at the timeout: CPU, runs and bytes so far are lower bounds
    lowerBound: idleAt === null ? ["idleSec", "cpuSec", "runs", "sentKiB"] : [],
  };
}

export async function runBurst(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const dirs = 10;
  const perDir = 100;
  const fileSize = 4096;
  const data = randomBytes(dirs * perDir * fileSize);
  const mark = await logSize(ctx.daemonLogPath);
  const cpu0 = ctx.driver.cpuSeconds();
  const changes: ChangedPath[] = [];
  const conditions: (() => boolean)[] = [];
  const first = now();
  for (let d = 0; d < dirs; d++) {
    const dir = `burst-${ctx.tag}-${d}`;
    ctx.undo.created.push(dir);
    mkdirSync(join(ctx.source, dir));
    for (let f = 0; f < perDir; f++) {
      const rel = `${dir}/${fileName(f)}`;
      const offset = (d * perDir + f) * fileSize;
      writeFileSync(join(ctx.source, rel), data.subarray(offset, offset + fileSize));
      changes.push({ path: rel, kind: "file" });
      const target = join(ctx.replica, rel);
      conditions.push(() => size(target) === fileSize);
    }
  }
  const last = now();
  ctx.driver.afterChanges(changes);
  const r = await settle(ctx, last, conditions, mark, cpu0);
  return {
    metrics: { replicaSec: r.convergedSec, idleSec: r.idleSec, runs: r.runs, cpuSec: r.cpuSec, sentKiB: r.sentKiB },
    lowerBound: r.lowerBound,
    detail: { writeSec: (last - first) / 1000 },
  };
}

export async function runDeleteRename(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const { layout } = ctx;
  const renamedIndex = Math.floor(layout.dirs.length / 2);
  const from = layout.dirs[renamedIndex] as string;
  const to = `${from}-renamed-${ctx.tag}`;
  const others = layout.dirs.map((_, i) => i).filter((i) => i !== renamedIndex && filesInDir(layout, i) > 2);
  const deletes: { dir: number; index: number }[] = [];
  for (let round = 0; deletes.length < 200 && round < 100; round++) {
    for (const d of others) {
      if (deletes.length >= 200) break;
      const index = (round * 41 + d) % filesInDir(layout, d);
      if (!deletes.some((x) => x.dir === d && x.index === index)) deletes.push({ dir: d, index });
    }
  }
  const mark = await logSize(ctx.daemonLogPath);
  const cpu0 = ctx.driver.cpuSeconds();
  // The rename first: the classic loop has no move events, and only a later event's run carries it.
  renameSync(join(ctx.source, from), join(ctx.source, to));
  ctx.undo.renamed.push([from, to]);
  for (const d of deletes) {
    unlinkSync(join(ctx.source, layout.dirs[d.dir] as string, fileName(d.index)));
    ctx.undo.deleted.push(d);
  }
  const last = now();
  const deletedPaths = deletes.map((d) => `${layout.dirs[d.dir]}/${fileName(d.index)}`);
  ctx.driver.afterChanges([
    { path: from, kind: "tree" },
    { path: to, kind: "tree" },
    ...deletedPaths.map((path): ChangedPath => ({ path, kind: "file" })),
  ]);
  const moved = filesInDir(layout, renamedIndex);
  const conditions: (() => boolean)[] = [
    ...deletedPaths.map((p) => () => size(join(ctx.replica, p)) === undefined),
    () => size(join(ctx.replica, from)) === undefined,
    ...Array.from({ length: moved }, (_, i) => () => size(join(ctx.replica, to, fileName(i))) !== undefined),
  ];
  const r = await settle(ctx, last, conditions, mark, cpu0);
  return {
    metrics: { convergeSec: r.convergedSec, idleSec: r.idleSec, runs: r.runs, cpuSec: r.cpuSec, sentKiB: r.sentKiB },
    lowerBound: r.lowerBound,
    detail: { deletes: deletes.length, renamedFiles: moved },
  };
}

/** The bigrename scenario's directory: this many files of incompressible random data. */
export const BIG_FILES = 100;
export const BIG_FILE_BYTES = 1024 * 1024;

/** Bytes sent as a percentage of the renamed directory's bytes. */
export function percentOf(sentKiB: number, dirBytes: number): number {
  return ((sentKiB * 1024) / dirBytes) * 100;
}

/**
 * A 100 MiB directory renamed (same parent). Untimed setup: the directory is written (100 files of
 * 1 MiB of random data, so neither compression nor rsync's delta on other files helps), the tool
 * replicates it and goes quiet. Then the rename alone: → replica converged (old name gone, every
 * file under the new name at full size), rsync runs and bytes sent until idle, and the bytes as a
 * percentage of the directory. The floor sends both names: a new name has no basis on the
 * receiver, so it sends the whole directory again.
 */
export async function runBigRename(ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const from = `big-${ctx.tag}`;
  const to = `${from}-renamed`;
  const dirBytes = BIG_FILES * BIG_FILE_BYTES;
  const names = Array.from({ length: BIG_FILES }, (_, i) => `b${String(i).padStart(3, "0")}.bin`);
  // both names: whichever exists when the session ends is removed
  ctx.undo.created.push(from, to);
  const setupMark = await logSize(ctx.daemonLogPath);
  const setupStart = now();
  mkdirSync(join(ctx.source, from));
  for (const name of names) writeFileSync(join(ctx.source, from, name), randomBytes(BIG_FILE_BYTES));
  const written = now();
  ctx.driver.afterChanges([{ path: from, kind: "tree" }]);
  const replicated = await waitAll(
    names.map((name) => () => size(join(ctx.replica, from, name)) === BIG_FILE_BYTES),
    CONVERGE_TIMEOUT_MS,
    5,
  );
  if (replicated === null) throw new Error(`setup: ${from} (100 MiB) not on the replica ${CONVERGE_TIMEOUT_MS / 1000} s after it was written`);
  const quietAt = await ctx.driver.waitIdle(replicated, QUIET_MS, ctx.idleTimeoutMs);
  if (quietAt === null) throw new Error(`setup: still busy ${ctx.idleTimeoutMs / 1000} s after ${from} was on the replica`);
  // the setup's sessions must be logged before the mark, or they count as the rename's (the floor
  // is idle the moment its rsync exits; rsyncd logs the totals a moment later)
  await waitSessionsClosed(ctx.daemonLogPath, setupMark, SESSION_LOG_MS);
  const setupSessions = await readSessionsSince(ctx.daemonLogPath, setupMark);
  const setup = {
    writeSec: (written - setupStart) / 1000,
    replicatedSec: (replicated - written) / 1000,
    runs: setupSessions.length,
    sentKiB: sumReceived(setupSessions) / 1024,
  };

  const mark = await logSize(ctx.daemonLogPath);
  const cpu0 = ctx.driver.cpuSeconds();
  renameSync(join(ctx.source, from), join(ctx.source, to));
  const last = now();
  ctx.driver.afterChanges([
    { path: from, kind: "tree" },
    { path: to, kind: "tree" },
  ]);
  const conditions: (() => boolean)[] = [
    () => size(join(ctx.replica, from)) === undefined,
    ...names.map((name) => () => size(join(ctx.replica, to, name)) === BIG_FILE_BYTES),
  ];
  const r = await settle(ctx, last, conditions, mark, cpu0);
  return {
    metrics: {
      convergeSec: r.convergedSec,
      idleSec: r.idleSec,
      runs: r.runs,
      cpuSec: r.cpuSec,
      sentKiB: r.sentKiB,
      sentPct: percentOf(r.sentKiB, dirBytes),
    },
    lowerBound: r.lowerBound.includes("sentKiB") ? [...r.lowerBound, "sentPct"] : r.lowerBound,
    detail: { files: BIG_FILES, dirBytes, setup },
  };
}
