import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

// Observing and stopping process trees through /proc (Linux only). Every read tolerates a process
// that exits in the middle: it simply stops counting.

let clockTicks: number | undefined;
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  /** clock ticks: own user, own system, waited-for children's user and system */
  readonly utime: number;
  readonly stime: number;
  readonly cutime: number;
  readonly cstime: number;
}

/** Parses /proc/PID/stat (pure). The comm field may hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field n is rest[n - 3]
  const field = (n: number): number => Number(rest[n - 3] ?? 0);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? "?",
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

export function readStat(pid: number): ProcStat | undefined {
  const text = readText(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseStat(text);
}

export function readChildren(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    const text = readText(`/proc/${pid}/task/${tid}/children`);
    if (text) for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

/** The live processes of the trees rooted at `roots` (roots included), zombies too. */
export function readTree(roots: readonly number[]): number[] {
  const seen = new Set<number>();
  const queue = roots.filter((p) => p > 0);
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    if (seen.has(pid) || readText(`/proc/${pid}/stat`) === undefined) continue;
    seen.add(pid);
    queue.push(...readChildren(pid));
  }
  return [...seen];
}

/**
 * CPU seconds used so far by the trees: for each live process its own time plus the time of the
 * children it has waited for (which includes theirs, recursively). Deltas of this are exact for
 * tools that wait for their rsync children, as all the measured tools do.
 */
export function readTreeCpuSeconds(roots: readonly number[]): number {
  let ticks = 0;
  for (const pid of readTree(roots)) {
    const s = readStat(pid);
    if (s) ticks += s.utime + s.stime + s.cutime + s.cstime;
  }
  return ticks / ticksPerSecond();
}

/**
 * CPU seconds of the event-watching processes of the trees: each live process's own time, rsync
 * excluded, and no waited-for children's (so not the rsync runs either). For rtsync that is the
 * node watcher, plus the inotifywait child with that source.
 */
export function readWatcherCpuSeconds(roots: readonly number[]): number {
  let ticks = 0;
  for (const pid of readTree(roots)) {
    const s = readStat(pid);
    if (s && s.comm !== "rsync") ticks += s.utime + s.stime;
  }
  return ticks / ticksPerSecond();
}

/** Sum of VmRSS over the trees, in KiB. */
export function readTreeRssKiB(roots: readonly number[]): number {
  let kib = 0;
  for (const pid of readTree(roots)) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readText(`/proc/${pid}/status`) ?? "");
    if (m) kib += Number(m[1]);
  }
  return kib;
}

/** VmRSS in KiB of each process of the trees, as "comm pid" → KiB (for the JSON). */
export function readTreeRssByProcess(roots: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of readTree(roots)) {
    const status = readText(`/proc/${pid}/status`) ?? "";
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "?";
    if (m) out[`${name} ${pid}`] = Number(m[1]);
  }
  return out;
}

/** inotify watches held by the trees: `inotify wd:` lines in the fdinfo of inotify fds. */
export function readInotifyWatches(roots: readonly number[]): number {
  let watches = 0;
  for (const pid of readTree(roots)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link !== "anon_inode:inotify") continue;
      const info = readText(`/proc/${pid}/fdinfo/${fd}`) ?? "";
      for (const line of info.split("\n")) if (line.startsWith("inotify wd:")) watches++;
    }
  }
  return watches;
}

export function isAlive(pid: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.state !== "Z";
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops a process tree this benchmark started: SIGTERM to every member (and to the process group
 * when the root leads one we created), then SIGKILL to what is left after `graceMs`.
 */
export async function stopTree(root: number, opts: { group?: boolean; graceMs?: number } = {}): Promise<void> {
  const members = readTree([root]);
  if (opts.group) signal(-root, "SIGTERM");
  for (const pid of members) signal(pid, "SIGTERM");
  const until = Date.now() + (opts.graceMs ?? 3000);
  while (Date.now() < until && members.some(isAlive)) await sleep(20);
  const left = members.filter(isAlive);
  if (opts.group && left.length > 0) signal(-root, "SIGKILL");
  for (const pid of left) signal(pid, "SIGKILL");
}
