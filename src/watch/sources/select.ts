import { RtsyncError } from "../../core/errors.ts";
import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { loadInotifyBinding } from "./inotify/binding.ts";
import { makeInotifywaitSource } from "./inotifywait/source.ts";
import { planWatcher, type EventSource, type WatcherChoice } from "./source.ts";
import type { WatcherKind } from "../../state/watch-spec.ts";
import { bytePathFromText } from "../byte-path.ts";

export interface SourceChoice {
  readonly watcher: WatcherKind;
  readonly source: string;
  readonly excluded: ExcludeMatcher;
  /** The inotifywait binary (absolute), when the machine has one: resolved by apply into the spec. */
  readonly inotifywait?: string;
  /** setpriv (absolute), when the machine has one: child processes die with the watcher. */
  readonly setpriv?: string;
}

/**
 * Which source a watch's `watcher` key runs on this machine, and why: for the watcher, `rtsync
 * validate` and `status`. `inotifywait` is its absolute path when the machine has one. Observes
 * only (loads the inotify addon).
 */
export function readWatcherChoice(watcher: WatcherKind, inotifywait: string | undefined): WatcherChoice {
  const addon = loadInotifyBinding();
  return planWatcher(watcher, {
    platform: process.platform,
    addon: addon.ok ? { ok: true } : { ok: false, reason: addon.reason },
    inotifywaitInstalled: inotifywait !== undefined,
  });
}

/** The event source the watch's `watcher` key asks for (see readWatcherChoice), with why it was picked. */
export async function loadEventSource(choice: SourceChoice): Promise<EventSource> {
  const binary = choice.inotifywait;
  const { source: kind, why } = readWatcherChoice(choice.watcher, binary);
  switch (kind) {
    case "inotify": {
      const addon = loadInotifyBinding();
      if (!addon.ok) {
        throw new RtsyncError("E_WATCH", "system", `watcher: inotify: rtsync's inotify addon is not available: ${addon.reason} (set watcher: auto or inotifywait)`);
      }
      const { makeInotifySource } = await import("./inotify/source.ts");
      return { ...makeInotifySource(choice.source, addon.binding), why };
    }
    case "inotifywait":
      if (binary === undefined) {
        throw new RtsyncError(
          "E_WATCH",
          "system",
          "watcher: inotifywait is not installed (install inotify-tools, or set watcher: auto or chokidar)",
        );
      }
      return { ...makeInotifywaitSource(choice.source, { binary, ...(choice.setpriv === undefined ? {} : { setpriv: choice.setpriv }) }), why };
    case "chokidar":
    case "poll": {
      // Loaded only when chosen: the default inotify watcher never carries chokidar's code.
      const { makeChokidarSource } = await import("./chokidar.ts");
      const source = makeChokidarSource(choice.source, {
        polling: kind === "poll",
        ignore: (rel, isDir) => choice.excluded(bytePathFromText(rel), isDir),
      });
      return { ...source, why };
    }
  }
}
