import { readWatchSpec } from "../../state/watch-spec.ts";
import type { EngineOptions } from "../engine/engine.ts";
import { killLiveChildren } from "../children.ts";
import { startJob } from "../host/job.ts";
import { readTreeWatches } from "./watch-count.ts";

// A watcher process of its own: `rtsync __watch SPEC.json` calls runWatcher. It runs one job
// (host/job.ts) until SIGTERM or SIGINT, then stops it (finishing or cancelling the run in flight
// and flushing what is pending if the target answers within a few seconds) and returns. This was
// the layout of every job before the watch host (host/main.ts) ran them all in one process; it
// stays for tests and for an rtsync whose host is not in use, and `apply` moves a node running it
// into the host (resources/watcher).

export interface RunWatcherOptions {
  /** Stop when this aborts, in addition to SIGTERM/SIGINT. */
  readonly signal?: AbortSignal;
  /** Passed on to the engine (tests). */
  readonly engine?: Omit<EngineOptions, "onEvent">;
  /** How often the inotify watches are counted again after runs (default 10 s). */
  readonly watchesEveryMs?: number;
}

/** Runs one watcher until SIGTERM/SIGINT (or `options.signal`); writes status.json and log.jsonl. */
export async function runWatcher(specPath: string, options: RunWatcherOptions = {}): Promise<void> {
  const spec = await readWatchSpec(specPath);
  // A crash must not leave inotifywait or rsync behind (SIGKILL is setpriv's job: children.ts).
  process.on("exit", killLiveChildren);
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const s of signals) process.on(s, requestStop);
  let onFullSyncRequest = (): void => undefined; // until the engine runs: its start runs one anyway
  const fullSyncSignal = (): void => onFullSyncRequest();
  process.on("SIGUSR2", fullSyncSignal);
  options.signal?.addEventListener("abort", requestStop, { once: true });
  try {
    // The process's own watches are the job's: in-process ones and its inotifywait's.
    const job = await startJob(spec, {
      pid: process.pid,
      countWatches: () => readTreeWatches(process.pid),
      ...(options.engine === undefined ? {} : { engine: options.engine }),
      ...(options.watchesEveryMs === undefined ? {} : { watchesEveryMs: options.watchesEveryMs }),
    });
    // SIGUSR2: a full sync now, for the reason and targets in full-sync-request.json (the agent's).
    onFullSyncRequest = () => job.requestFull();
    await stopRequested;
    await job.stop();
  } finally {
    process.off("exit", killLiveChildren);
    for (const s of signals) process.off(s, requestStop);
    process.off("SIGUSR2", fullSyncSignal);
  }
}
