import { spawn } from "node:child_process";
import { mkdir, open, readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { ApplyError } from "../../core/errors.ts";
import { watchFiles } from "../../state/layout.ts";
import type { WatcherKind } from "../../state/watch-spec.ts";
import { readWatcherStatus } from "../../state/watcher-status.ts";
import { isAlive } from "../process/identity.ts";

// Starting a watcher process: `rtsync __watch SPEC`, detached so it outlives apply, its output
// appended to watcher.log in its own state directory.

/**
 * V8 flags of the watcher, a process that runs for months on every server and is mostly idle.
 * --lite-mode (no optimizing compiler, lazy feedback) measured 5 MB less resident memory at rest
 * (56 -> 51 MB on a 10,000-file tree) and 98 -> 64 MB at the peak of a 50,000-file storm, for
 * ~50% more watcher CPU in that storm (the interpreter parses the events; rsync does the work).
 * A 1 MB young generation keeps the garbage of a storm from settling as resident memory.
 * (--no-expose-wasm: lite mode turns WebAssembly off anyway, and says so on stderr without it.)
 */
export const WATCHER_NODE_FLAGS: readonly string[] = ["--lite-mode", "--no-expose-wasm", "--max-semi-space-size=1"];

/**
 * Not for chokidar: it scans and tracks every file in JavaScript, and in the interpreter its
 * start on a 100,000-file tree took 64 s instead of 18 s (bench, 2026-11-24).
 */
export function watcherNodeFlags(watcher: WatcherKind): readonly string[] {
  return watcher === "chokidar" || watcher === "poll" ? [] : WATCHER_NODE_FLAGS;
}

export interface WatcherLaunch {
  readonly specFile: string;
  readonly watchDir: string;
  readonly watcher: WatcherKind;
  /** Its whole environment (buildChildEnv). */
  readonly env: Readonly<Record<string, string>>;
}

export interface StartedWatcher {
  readonly pid: number;
  /** It runs, but cannot watch its source (its status says why); it keeps retrying. */
  readonly problem?: string;
}

/**
 * Starts the watcher; resolves once its status says it watches, or that it cannot (the source is
 * missing, the watch limit is reached: it keeps retrying, and apply reports it as failed). A tree
 * so large that setting its watches takes longer than 15 s is left starting.
 */
export async function startWatcher(w: WatcherLaunch, self: readonly string[]): Promise<StartedWatcher> {
  await mkdir(w.watchDir, { recursive: true, mode: 0o700 });
  const logPath = watchFiles.output(w.watchDir);
  const log = await open(logPath, "a", 0o600);
  const [cmd, ...args] = self;
  if (!cmd) throw new ApplyError("empty rtsync command");
  const flags = cmd === process.execPath ? watcherNodeFlags(w.watcher) : [];
  const child = spawn(cmd, [...flags, ...args, "__watch", w.specFile], { detached: true, stdio: ["ignore", log.fd, log.fd], env: w.env });
  child.unref();
  await log.close();
  const pid = child.pid;
  if (pid === undefined) throw new ApplyError(`cannot start ${cmd}`);
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    if (!isAlive(pid)) {
      const tail = (await readFile(logPath, "utf8").catch(() => "")).trim().split("\n").slice(-2).join(" / ");
      throw new ApplyError(`the watcher exited at start: ${tail || "no message"} (log: ${logPath})`);
    }
    const status = await readWatcherStatus(w.watchDir).catch(() => undefined);
    if (status?.pid === pid) {
      if (status.state === "watching") return { pid };
      if (status.state === "source-down" || status.state === "stopped") {
        return { pid, problem: `the watcher runs but cannot watch its source: ${status.lastError?.message ?? status.state}; it keeps retrying (rtsync status shows it)` };
      }
    }
    await sleep(25);
  }
  return { pid };
}
