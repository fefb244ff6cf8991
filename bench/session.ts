import { spawn } from "node:child_process";
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { floorDriver, toolDriver, type Driver, type FloorTarget } from "./driver.ts";
import { TreeMonitor } from "./monitor.ts";
import type { Peer } from "./peers/peer.ts";
import { countDirectories } from "../src/watch/sources/inotify-proc.ts";
import { readInotifyWatches, readTreeRssByProcess, readTreeRssKiB } from "./proc.ts";
import { QUIET_MS, runBigRename, runBurst, runDeleteRename, runIdle, runLatency, type ScenarioCtx, type Undo } from "./scenarios.ts";
import { runOverflow, runSoak, runStorm } from "./scenarios-source.ts";
import { fileContent, fileName, type TreeLayout } from "./tree.ts";
import type { RunRecord, ScenarioName, ScenarioOutcome, ToolName } from "./types.ts";
import { runVerify } from "./verify.ts";

// One session = one tool, one tree size, one run: start the tool, run the selected scenarios in
// order (each verified), stop it, then put the source back and repair the replica locally.

export interface SessionInput {
  readonly tool: ToolName;
  readonly size: number;
  readonly run: number;
  readonly source: string;
  readonly replica: string;
  readonly layout: TreeLayout;
  readonly scenarios: readonly ScenarioName[];
  readonly idleSeconds: number;
  readonly latencyWrites: number;
  readonly idleTimeoutMs: number;
  readonly soakSeconds: number;
  readonly log: (line: string) => void;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function newUndo(): Undo {
  return { created: [], renamed: [], deleted: [] };
}

// Puts the source tree back as the tree builder made it, then makes the replica equal with a local rsync.
async function restore(input: SessionInput, undo: Undo): Promise<void> {
  const { source, layout } = input;
  for (const rel of undo.created) rmSync(join(source, rel), { recursive: true, force: true });
  for (const [from, to] of [...undo.renamed].reverse()) renameSync(join(source, to), join(source, from));
  for (const d of undo.deleted) {
    const dir = layout.dirs[d.dir] as string;
    writeFileSync(join(source, dir, fileName(d.index)), fileContent(dir, d.index));
  }
  const child = spawn("rsync", ["-a", "--delete", `${source}/`, `${input.replica}/`], { stdio: "ignore" });
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  if (code !== 0) throw new Error(`restoring the replica: rsync exited ${code}`);
}

// Counts the tool's own log lines by kind, from a byte offset. rtsync's log.jsonl has one "run"
// record per batch, not per rsync process: a batch with a directory rename runs a rename step
// (an rsync of the new directory with --link-dest to the old one) and then the incremental rsync,
// and logs both as one record (bytes summed, the step listed in `renames`). The daemon counts two
// sessions for it, so with the
// inotifywait backend "rsync runs" (daemon sessions) is one more than these records per rename.
function toolLogSince(path: string | undefined, offset: number): { offset: number; kinds: Record<string, number> } {
  if (!path) return { offset: 0, kinds: {} };
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return { offset: 0, kinds: {} };
  }
  const kinds: Record<string, number> = {};
  for (const line of buf.subarray(offset).toString("utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { kind?: unknown; type?: unknown };
      const kind = String(entry.kind ?? entry.type ?? "?");
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    } catch {
      kinds["unparsed"] = (kinds["unparsed"] ?? 0) + 1;
    }
  }
  return { offset: buf.length, kinds };
}

async function withVerify(input: SessionInput, outcome: ScenarioOutcome): Promise<ScenarioOutcome> {
  try {
    return { ...outcome, verify: await runVerify(input.source, input.replica) };
  } catch (e) {
    return { ...outcome, error: `verification failed: ${errorText(e)}` };
  }
}

type Scenarios = Partial<Record<ScenarioName, ScenarioOutcome>>;

async function runChangeScenarios(
  input: SessionInput,
  ctx: ScenarioCtx,
  out: Scenarios,
  tool?: { readonly peer: Peer; readonly monitor: TreeMonitor },
): Promise<void> {
  const toolLog = tool?.peer.toolLogPath;
  const table = {
    idle: runIdle,
    latency: runLatency,
    "delete-rename": runDeleteRename,
    bigrename: runBigRename,
    burst: runBurst,
    storm: runStorm,
    overflow: runOverflow,
    soak: runSoak,
  } as const;
  let logOffset = toolLogSince(toolLog, 0).offset;
  for (const name of input.scenarios) {
    if (name === "startup") continue;
    const restarted = tool ? await restartIfBusy(input, tool.peer, tool.monitor, ctx) : false;
    logOffset = toolLogSince(toolLog, 0).offset;
    input.log(`  ${name}…`);
    let outcome: ScenarioOutcome;
    try {
      outcome = await table[name](ctx);
      if (name !== "idle") outcome = await withVerify(input, outcome);
    } catch (e) {
      outcome = { metrics: {}, error: errorText(e) };
    }
    const tl = toolLogSince(toolLog, logOffset);
    logOffset = tl.offset;
    if (toolLog) outcome = { ...outcome, detail: { ...outcome.detail, toolLog: tl.kinds } };
    // The soak's point: no full sync was needed to keep the replica right (rtsync logs them).
    if (name === "soak" && toolLog) outcome = { ...outcome, metrics: { ...outcome.metrics, fullSyncs: tl.kinds["full"] ?? 0 } };
    if (restarted) outcome = { ...outcome, detail: { ...outcome.detail, restartedBefore: true } };
    out[name] = outcome;
  }
}

// Starts the tool and waits until a probe file written after the start call (a new one every
// 50 ms or a tenth of the time so far, in the tree's last directory) is on the replica. Resolves with the start call's time and
// the time the first probe arrived (null: none within the timeout).
async function startAndProbe(input: SessionInput, peer: Peer, ctx: ScenarioCtx): Promise<{ t0: number; ready: number | null; watched: number | null }> {
  const probeDir = input.layout.dirs[input.layout.dirs.length - 1] as string;
  const prefix = `probe-${ctx.tag}-${ctx.undo.created.length}-`;
  const timeoutMs = 60_000 + input.size / 5;
  // Watch set-up: until the tool holds one inotify watch per directory (polled every 50 ms).
  const directories = await countDirectories(input.source);
  let watched: number | null = null;
  let nextWatchPoll = 0;
  const t0 = performance.now();
  let startError: unknown;
  let started = false;
  const starting = peer.start().then(
    () => (started = true),
    (e: unknown) => (startError = e),
  );
  let ready: number | null = null;
  let nextProbe = t0;
  for (let k = 0; ready === null && startError === undefined && performance.now() - t0 < timeoutMs; ) {
    if (performance.now() >= nextProbe) {
      const rel = `${probeDir}/${prefix}${k++}`;
      ctx.undo.created.push(rel);
      writeFileSync(join(input.source, rel), "probe\n");
      // every 50 ms at first, then sparser: each probe costs the classic loop two full-tree runs
      nextProbe += Math.max(50, (performance.now() - t0) / 10);
    }
    if (watched === null && performance.now() >= nextWatchPoll) {
      nextWatchPoll = performance.now() + 50;
      if (readInotifyWatches(peer.roots()) >= directories) watched = performance.now();
    }
    if (readdirSync(join(input.replica, probeDir)).some((n) => n.startsWith(prefix))) ready = performance.now();
    else await sleep(5);
  }
  await starting;
  if (startError !== undefined) throw startError;
  if (!started) throw new Error("the start command never returned");
  // The probe may arrive first (lsyncd sends as it watches): keep polling a little.
  for (const until = performance.now() + 30_000; watched === null && performance.now() < until; await sleep(50)) {
    if (readInotifyWatches(peer.roots()) >= directories) watched = performance.now();
  }
  return { t0, ready, watched };
}

// Start-up: start → first change replicated, then the RSS and inotify watches once the initial sync is over.
async function runStartup(input: SessionInput, peer: Peer, monitor: TreeMonitor, ctx: ScenarioCtx): Promise<ScenarioOutcome> {
  const { t0, ready, watched } = await startAndProbe(input, peer, ctx);
  const settled = await monitor.waitQuiet(ready ?? performance.now(), QUIET_MS, input.idleTimeoutMs + input.size / 10);
  const roots = peer.roots();
  const metrics = {
    watchedSec: watched === null ? null : (watched - t0) / 1000,
    readySec: ready === null ? null : (ready - t0) / 1000,
    rssMiB: readTreeRssKiB(roots) / 1024,
    rssPeakMiB: monitor.peakRssKiB / 1024,
    watches: readInotifyWatches(roots),
  };
  return { metrics, detail: { initialSyncSettled: settled !== null, rssKiBByProcess: readTreeRssByProcess(roots) } };
}

// A tool still busy after a scenario's timeout (the classic loop's backlog of full-tree runs)
// would distort the next scenario: restart it, so the next one starts from an idle tool.
async function restartIfBusy(input: SessionInput, peer: Peer, monitor: TreeMonitor, ctx: ScenarioCtx): Promise<boolean> {
  // quiet since the last rsync seen (since = 0), allowing one more quiet spell to get there
  if ((await monitor.waitQuiet(0, QUIET_MS, QUIET_MS + 1000)) !== null) return false;
  input.log("  still busy: restarting it before the next scenario");
  await peer.stop();
  const { ready } = await startAndProbe(input, peer, ctx);
  if (ready === null) throw new Error("the tool did not come back after a restart");
  await monitor.waitQuiet(ready, QUIET_MS, input.idleTimeoutMs);
  return true;
}

export async function runToolSession(input: SessionInput, peer: Peer): Promise<RunRecord> {
  const scenarios: Scenarios = {};
  const undo = newUndo();
  const monitor = new TreeMonitor(() => peer.roots());
  const ctx: ScenarioCtx = {
    ...input,
    tag: `${input.tool}-${input.run}`,
    driver: toolDriver(monitor, () => peer.roots()),
    daemonLogPath: peer.daemonLogPath,
    undo,
    roots: () => peer.roots(),
  };
  let error: string | undefined;
  try {
    await peer.prepare();
    monitor.start();
    input.log(`  startup…`);
    try {
      scenarios.startup = await withVerify(input, await runStartup(input, peer, monitor, ctx));
    } catch (e) {
      scenarios.startup = { metrics: {}, error: errorText(e) };
      throw e;
    }
    await runChangeScenarios(input, ctx, scenarios, { peer, monitor });
  } catch (e) {
    error = errorText(e);
  } finally {
    monitor.stop();
    await peer.stop().catch((e: unknown) => (error ??= `stopping: ${errorText(e)}`));
    await restore(input, undo).catch((e: unknown) => (error ??= errorText(e)));
  }
  if (!input.scenarios.includes("startup")) delete scenarios.startup;
  return { tool: input.tool, size: input.size, run: input.run, scenarios, ...(error ? { error } : {}) };
}

export async function runFloorSession(input: SessionInput, target: FloorTarget, daemonLogPath: string): Promise<RunRecord> {
  const scenarios: Scenarios = {};
  const undo = newUndo();
  const failures: string[] = [];
  const driver: Driver = floorDriver(target, (run) => {
    if (run.exitCode !== 0) failures.push(`floor rsync exited ${run.exitCode}: ${run.stderr.trim().split("\n")[0] ?? ""}`);
  });
  const ctx: ScenarioCtx = { ...input, tag: `floor-${input.run}`, driver, daemonLogPath, undo };
  let error: string | undefined;
  try {
    const toolOnly = new Set<ScenarioName>(["idle", "startup", "storm", "overflow", "soak"]);
    const floorInput = { ...input, scenarios: input.scenarios.filter((s) => !toolOnly.has(s)) };
    await runChangeScenarios(floorInput, ctx, scenarios);
  } finally {
    await restore(input, undo).catch((e: unknown) => (error = errorText(e)));
  }
  if (failures.length > 0) error ??= failures[0];
  return { tool: "floor", size: input.size, run: input.run, scenarios, ...(error ? { error } : {}) };
}
