import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { RtsyncError } from "../../core/errors.ts";
import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import { loadInotifyBinding } from "./inotify/binding.ts";
import { makeInotifywaitSource } from "./inotifywait/source.ts";
import { planWatcher, type EventSource, type WatcherChoice } from "./source.ts";
import type { WatcherKind } from "../../state/watch-spec.ts";
import { bytePathFromText } from "../byte-path.ts";

/** The first executable `name` on PATH, or undefined. */
export async function findOnPath(name: string, pathVar = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const dir of pathVar.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface SourceChoice {
  readonly watcher: WatcherKind;
  readonly source: string;
  readonly excluded: ExcludeMatcher;
  /** Override the inotifywait binary (tests). */
  readonly inotifywaitBinary?: string;
}

/**
 * Which source a watch's `watcher` key runs on this machine, and why: for `rtsync validate` and
 * `status`. Observes only (loads the inotify addon, looks at PATH).
 */
export async function readWatcherChoice(watcher: WatcherKind, inotifywaitBinary?: string): Promise<WatcherChoice> {
  const addon = loadInotifyBinding();
  const binary = inotifywaitBinary ?? (await findOnPath("inotifywait"));
  return planWatcher(watcher, {
    platform: process.platform,
    addon: addon.ok ? { ok: true } : { ok: false, reason: addon.reason },
    inotifywaitInstalled: binary !== undefined,
  });
}

/** The event source the watch's `watcher` key asks for (see readWatcherChoice), with why it was picked. */
export async function loadEventSource(choice: SourceChoice): Promise<EventSource> {
  const binary = choice.inotifywaitBinary ?? (await findOnPath("inotifywait"));
  const { source: kind, why } = await readWatcherChoice(choice.watcher, binary);
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
      return { ...makeInotifywaitSource(choice.source, { binary }), why };
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
