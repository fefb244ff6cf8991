import { RtsyncError } from "../../core/errors.ts";
import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { makeInotifywaitSource } from "./inotifywait/source.ts";
import { pickWatcher, type EventSource } from "./source.ts";
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

/** The event source the watch's `watcher` key asks for. */
export async function loadEventSource(choice: SourceChoice): Promise<EventSource> {
  const binary = choice.inotifywait;
  const kind = pickWatcher(choice.watcher, process.platform, binary !== undefined);
  switch (kind) {
    case "inotifywait":
      if (binary === undefined) {
        throw new RtsyncError(
          "E_WATCH",
          "system",
          "watcher: inotifywait is not installed (install inotify-tools, or set watcher: auto or chokidar)",
        );
      }
      return makeInotifywaitSource(choice.source, { binary, ...(choice.setpriv === undefined ? {} : { setpriv: choice.setpriv }) });
    case "chokidar":
    case "poll": {
      // Loaded only when chosen: the default inotifywait watcher never carries chokidar's code.
      const { makeChokidarSource } = await import("./chokidar.ts");
      return makeChokidarSource(choice.source, {
        polling: kind === "poll",
        ignore: (rel, isDir) => choice.excluded(bytePathFromText(rel), isDir),
      });
    }
  }
}
