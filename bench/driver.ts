import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { BENCH_USER, MODULE } from "./daemon.ts";
import { buildIncludeRules, type ChangedPath } from "./filter.ts";
import type { TreeMonitor } from "./monitor.ts";
import { readStat, readTreeCpuSeconds, ticksPerSecond } from "./proc.ts";

// What a scenario needs from the thing under test, whether a running tool or the floor:
// tell it the changes are done, read its CPU, and wait until it is idle again.

export interface Driver {
  /** CPU seconds used so far (compare two readings) */
  cpuSeconds(): number;
  /** the changes are finished (the floor starts its rsync now; a tool saw them already) */
  afterChanges(changes: readonly ChangedPath[]): void;
  /** the time the last run ended once nothing ran for quietMs after `since`; null on timeout */
  waitIdle(since: number, quietMs: number, timeoutMs: number): Promise<number | null>;
}

export function toolDriver(monitor: TreeMonitor, roots: () => readonly number[]): Driver {
  return {
    cpuSeconds: () => readTreeCpuSeconds(roots()),
    afterChanges: () => {},
    waitIdle: (since, quietMs, timeoutMs) => monitor.waitQuiet(since, quietMs, timeoutMs),
  };
}

export interface FloorTarget {
  readonly source: string;
  readonly port: number;
  readonly passwordFile: string;
}

/** The floor's one rsync: exactly the changed paths, TCP_NODELAY. */
export function floorArgs(t: FloorTarget): string[] {
  return [
    "-a",
    "--delete",
    "--sockopts=TCP_NODELAY",
    "--from0",
    "--include-from=-",
    "--exclude=*",
    `--password-file=${t.passwordFile}`,
    `${t.source}/`,
    `rsync://${BENCH_USER}@127.0.0.1:${t.port}/${MODULE}/`,
  ];
}

export interface FloorRun {
  readonly exitCode: number;
  readonly cpuSeconds: number;
  readonly endedAt: number;
  readonly stderr: string;
}

// rsync is spawned directly: behind a `bash -c '…; times'` wrapper the same push measured
// ~0.2 s instead of ~0.02 s here. Its CPU is sampled from /proc every 2 ms while it runs (an
// undercount of at most one sample).
export function runFloor(t: FloorTarget, changes: readonly ChangedPath[]): Promise<FloorRun> {
  const child = spawn("rsync", floorArgs(t), { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  let ticks = 0;
  const pid = child.pid;
  const sampler = setInterval(() => {
    const s = pid === undefined ? undefined : readStat(pid);
    if (s) ticks = Math.max(ticks, s.utime + s.stime);
  }, 2);
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  child.stdin.end(buildIncludeRules(changes).map((r) => `${r}\0`).join(""));
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearInterval(sampler);
      resolve({ exitCode: code ?? -1, cpuSeconds: ticks / ticksPerSecond(), endedAt: performance.now(), stderr });
    });
  });
}

export function floorDriver(t: FloorTarget, onRun: (run: FloorRun) => void): Driver {
  let cpu = 0;
  const inflight = new Set<Promise<FloorRun>>();
  let lastEnd = 0;
  return {
    cpuSeconds: () => cpu,
    afterChanges(changes) {
      const p = runFloor(t, changes).then((run) => {
        cpu += run.cpuSeconds;
        lastEnd = Math.max(lastEnd, run.endedAt);
        inflight.delete(p);
        onRun(run);
        return run;
      });
      inflight.add(p);
    },
    async waitIdle(since) {
      while (inflight.size > 0) await Promise.all(inflight);
      return Math.max(since, lastEnd);
    },
  };
}
