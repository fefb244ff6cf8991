import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import type { Host } from "../host.ts";
import { readProcessInfo, type ProcessInfo } from "./identity.ts";

// What rtsync gives the processes it starts: a built environment (never its own, which may carry
// a password variable) that marks each process with the stateDir, owner and job it belongs to.
// The marks let rtsync find its processes again when the inventory does not know them (apply
// killed between spawn and record, a lost or corrupt inventory): /proc/PID/environ is readable
// by root and the process's owner only.

/** The PATH of every child: system directories only (an empty or relative entry would mean "."). */
export const CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ProcessMarker {
  readonly stateDir: string;
  /** The manifest identity (ResolvedManifest.owner). */
  readonly owner: string;
  /** The resource id: `daemon:NAME` or `watcher:NAME`. */
  readonly job: string;
  /** The start-up or spec hash it was started with. */
  readonly hash: string;
}

const VARS = { stateDir: "RTSYNC_STATE_DIR", owner: "RTSYNC_OWNER", job: "RTSYNC_JOB", hash: "RTSYNC_HASH" } as const;

/** Variables passed on from rtsync's own environment: the time zone (cron schedules) and debugging. */
const PASSED_ON = ["TZ", "RTSYNC_DEBUG"] as const;

/** The environment of a process rtsync starts. Pure. */
export function buildChildEnv(marker: ProcessMarker, parent: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = { PATH: CHILD_PATH, LC_ALL: "C" };
  for (const name of PASSED_ON) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  env[VARS.stateDir] = marker.stateDir;
  env[VARS.owner] = marker.owner;
  env[VARS.job] = marker.job;
  env[VARS.hash] = marker.hash;
  return env;
}

/** The marker in a process's environment (NUL-separated NAME=VALUE), if it carries one. Pure. */
export function parseMarker(environ: string): ProcessMarker | undefined {
  const vars = new Map<string, string>();
  for (const entry of environ.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const stateDir = vars.get(VARS.stateDir);
  const owner = vars.get(VARS.owner);
  const job = vars.get(VARS.job);
  const hash = vars.get(VARS.hash);
  return stateDir !== undefined && owner !== undefined && job !== undefined && hash !== undefined ? { stateDir, owner, job, hash } : undefined;
}

export interface MarkedProcess {
  readonly info: ProcessInfo;
  readonly marker: ProcessMarker;
}

// Only these can be rtsync's: an rsync daemon, the watch host or a watcher of one job.
function mayBeOurs(argv: readonly string[]): boolean {
  return argv.includes("--daemon") || argv.includes("__host") || argv.includes("__watch");
}

// A /proc file, or "" when the process is gone or keeps it from us. Read synchronously on purpose:
// the kernel makes these files in memory, and a thread-pool round trip per file cost ~10x the read
// (71 processes: 4-10 ms async, 1 ms sync), every plan, twice per apply.
function readProcText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** Every live process that carries the marker of `stateDir`. Only observes /proc. */
export async function readMarkedProcesses(host: Host, stateDir: string): Promise<MarkedProcess[]> {
  let names: string[];
  try {
    names = readdirSync(host.procRoot);
  } catch {
    names = [];
  }
  const candidates: { pid: number; marker: ProcessMarker }[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (!/^\d+$/.test(name) || pid === process.pid) continue;
    if (!mayBeOurs(readProcText(join(host.procRoot, name, "cmdline")).split("\0"))) continue;
    const marker = parseMarker(readProcText(join(host.procRoot, name, "environ")));
    if (marker?.stateDir === stateDir) candidates.push({ pid, marker });
  }
  const found = await Promise.all(
    candidates.map(async ({ pid, marker }): Promise<MarkedProcess | undefined> => {
      const info = await readProcessInfo(host, pid);
      return info === undefined || info.state === "Z" || info.state === "X" ? undefined : { info, marker };
    }),
  );
  const live = found.filter((p): p is MarkedProcess => p !== undefined);
  // rsyncd forks a child per connection, with its argv and environment: that is the daemon at
  // work, not a second daemon of the job.
  const byPid = new Map(live.map((p) => [p.info.pid, p]));
  return live.filter((p) => byPid.get(p.info.ppid)?.marker.job !== p.marker.job);
}

/** Whether a command line is `[node …] …/rtsync agent …` (installed, or the built CLI's bin.js). Pure. */
export function isAgentCommand(argv: readonly string[]): boolean {
  const bin = argv.findIndex((a) => a.endsWith("/rtsync") || a === "rtsync" || a.endsWith("/cli/bin.js"));
  return bin >= 0 && argv[bin + 1] === "agent";
}

// Whether process `pid` holds `dir` open (the agent's mark on its stateDir: agent/state-dir-mark.ts).
function holdsOpen(host: Host, pid: string, dir: string): boolean {
  const fds = join(host.procRoot, pid, "fd");
  try {
    return readdirSync(fds).some((fd) => {
      try {
        return readlinkSync(join(fds, fd)) === dir;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * The live `rtsync agent` processes serving `stateDir` (holding it open), this process aside: what
 * `rtsync status` names when the agent recorded in the stateDir is gone, since a running agent
 * that cannot write its status document yet is running all the same. Only observes /proc.
 */
export function readAgentPids(host: Host, stateDir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(host.procRoot);
  } catch {
    return [];
  }
  let dir = stateDir;
  try {
    dir = realpathSync(stateDir); // what /proc/PID/fd links to
  } catch {
    // gone: compared as written
  }
  return names
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((name) => isAgentCommand(readProcText(join(host.procRoot, name, "cmdline")).split("\0")) && holdsOpen(host, name, dir))
    .map(Number);
}
