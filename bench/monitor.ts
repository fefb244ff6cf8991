import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { readTree, readTreeRssKiB } from "./proc.ts";

// Watches a tool's process tree every few milliseconds: whether an rsync is running in it (the
// tool is busy), when the last one was seen, and the peak RSS of the whole tree. `isRun` narrows
// what counts as a run (e.g. only the rsyncs that talk to one of several targets).

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export class TreeMonitor {
  /** performance.now() when an rsync was last seen in the tree (0: never) */
  lastRsyncAt = 0;
  rsyncRunning = false;
  peakRssKiB = 0;
  readonly #roots: () => readonly number[];
  readonly #intervalMs: number;
  readonly #isRun: (pid: number, comm: string) => boolean;
  #timer: NodeJS.Timeout | undefined;
  #ticks = 0;

  constructor(roots: () => readonly number[], intervalMs = 5, isRun: (pid: number, comm: string) => boolean = (_pid, c) => c === "rsync") {
    this.#roots = roots;
    this.#intervalMs = intervalMs;
    this.#isRun = isRun;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const roots = this.#roots();
    if (roots.length === 0) return;
    const tree = readTree(roots);
    this.rsyncRunning = tree.some((pid) => this.#isRun(pid, comm(pid)));
    if (this.rsyncRunning) this.lastRsyncAt = performance.now();
    if (this.#ticks++ % 10 === 0) this.peakRssKiB = Math.max(this.peakRssKiB, readTreeRssKiB(roots));
  }

  /**
   * Waits until no rsync has run in the tree for `quietMs` after `since`; resolves with the time
   * the last rsync was seen (or `since` when none ran after it), or null on timeout.
   */
  async waitQuiet(since: number, quietMs: number, timeoutMs: number): Promise<number | null> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      const now = performance.now();
      const last = Math.max(since, this.lastRsyncAt);
      if (!this.rsyncRunning && now - last >= quietMs) return last;
      if (now > until) return null;
      await sleep(this.#intervalMs);
    }
  }
}
