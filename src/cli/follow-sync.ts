import { setTimeout as sleep } from "node:timers/promises";
import { progressFigures, sentFigures } from "../render/progress-text.ts";
import { escapeTerminal } from "../render/terminal-escape.ts";
import { isAlive } from "../resources/process/identity.ts";
import { readWatcherStatusResult, type WatcherStatusDoc } from "../state/watcher-status.ts";

// After `rtsync apply` on a terminal: the initial full sync of each watcher it started, followed
// from the watcher's status.json (rsync's --info=progress2 figures) until it is over. The
// watcher runs detached, so leaving early (Ctrl-C) stops only the display.

export interface FollowedWatcher {
  readonly name: string;
  readonly pid: number;
  /** The watcher's directory (its status.json). */
  readonly watchDir: string;
}

type InitialSync = WatcherStatusDoc["initialSync"];

/** One line for a watcher's initial sync; undefined while there is nothing to show yet. */
export function initialSyncLine(name: string, init: InitialSync | undefined, elapsedMs: number): string | undefined {
  const p = init?.progress ?? undefined;
  const seconds = `${(elapsedMs / 1000).toFixed(1)} s`;
  switch (init?.state) {
    case "running":
      if (p === undefined) return `watcher ${name}: initial sync: scanning (${seconds})`;
      return `watcher ${name}: initial sync ${progressFigures(p)} (${seconds})`;
    case "done":
      return `watcher ${name}: initial sync done in ${seconds}${p ? ` (${sentFigures(p)})` : " (nothing to send)"}`;
    case "failed":
      return `watcher ${name}: initial sync FAILED after ${seconds}; see rtsync status (the scheduled full sync will retry)`;
    default:
      return undefined;
  }
}

/**
 * Shows each watcher's initial sync on the terminal, one at a time, rewriting its line in place,
 * until it is done, failed or skipped or its process is gone, or `signal` aborts (Ctrl-C).
 */
export async function followInitialSyncs(
  watchers: readonly FollowedWatcher[],
  write: (text: string) => void,
  signal: AbortSignal,
  intervalMs = 250,
): Promise<void> {
  const started = Date.now();
  for (const w of watchers) {
    for (;;) {
      if (signal.aborted) {
        write(`\r\x1b[K(the initial sync goes on in the background; rtsync status shows it)\n`);
        return;
      }
      const read = await readWatcherStatusResult(w.watchDir);
      if (!read.ok) {
        write(`\r\x1b[K${escapeTerminal(`watcher ${w.name}: its status cannot be read: ${read.error}`)}\n`);
        break;
      }
      const report = read.doc;
      if (report?.state === "halted") {
        // The deletion guard refused the initial sync: say so, not "the scheduled full sync will retry".
        write(`\r\x1b[K${escapeTerminal(`watcher ${w.name}: HALTED: ${report.halted?.message ?? "see rtsync status"}`)}\n`);
        break;
      }
      const init = report?.initialSync;
      const line = initialSyncLine(w.name, init, Date.now() - started);
      const over = init?.state === "done" || init?.state === "failed" || init?.state === "skipped" || !isAlive(w.pid);
      if (over) {
        if (line !== undefined) write(`\r\x1b[K${escapeTerminal(line)}\n`);
        break;
      }
      if (line !== undefined) write(`\r\x1b[K${escapeTerminal(line)}`);
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}
