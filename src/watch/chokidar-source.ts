import path from "node:path";
import type { Stats } from "node:fs";
import { watch, type FSWatcher } from "chokidar";
import { bytePathFromText, parentOf } from "./byte-path.ts";
import {
  WatchSourceError,
  watchLimitMessage,
  type EventSource,
  type SourceEvent,
  type SourceEventType,
  type SourceHandlers,
  type Subscription,
} from "./source.ts";

// The chokidar 5 adapter, for machines without inotifywait and (with polling) for network
// filesystems where inotify sees nothing. It holds one watch per file, so it is not the default.

export interface ChokidarSourceOptions {
  readonly polling: boolean;
  /** Paths (relative, "/"-separated) to neither watch nor report. */
  readonly ignore?: (relPath: string, isDir: boolean | undefined) => boolean;
  /** Polling interval in ms (default 1000). */
  readonly intervalMs?: number;
}

export function makeChokidarSource(source: string, options: ChokidarSourceOptions): EventSource {
  return {
    kind: options.polling ? "poll" : "chokidar",
    subscribe: (handlers) => startChokidar(source, options, handlers),
  };
}

const TYPES = { add: "change", change: "change", addDir: "create-dir", unlink: "delete", unlinkDir: "delete" } as const;

// Maps one chokidar event to ours. Node decodes names as UTF-8; a name that is not valid UTF-8
// comes out with U+FFFD and cannot be named, so its directory is rescanned instead.
function toSourceEvent(event: keyof typeof TYPES, rel: string): SourceEvent {
  const type: SourceEventType = TYPES[event];
  const isDir = event === "addDir" || event === "unlinkDir";
  const bytes = bytePathFromText(rel);
  if (rel.includes("\uFFFD")) return { type: "rescan", path: parentOf(bytes), isDir: true };
  return { type, path: bytes, isDir };
}

function startChokidar(source: string, options: ChokidarSourceOptions, handlers: SourceHandlers): Subscription {
  const ignore = options.ignore;
  const watcher: FSWatcher = watch(source, {
    ignoreInitial: true,
    followSymlinks: false,
    atomic: false,
    usePolling: options.polling,
    interval: options.intervalMs ?? 1000,
    binaryInterval: options.intervalMs ?? 1000,
    ignorePermissionErrors: false,
    ...(ignore === undefined
      ? {}
      : {
          ignored: (p: string, stats?: Stats) => {
            const rel = path.relative(source, p);
            return rel !== "" && !rel.startsWith("..") && ignore(rel.split(path.sep).join("/"), stats?.isDirectory());
          },
        }),
  });
  let closed = false;
  let failed = false;
  let isReady = false;
  let queue: SourceEvent[] = [];
  let resolveReady!: (v: { watches: number }) => void;
  let rejectReady!: (e: WatchSourceError) => void;
  const ready = new Promise<{ watches: number }>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);

  const fail = (error: WatchSourceError): void => {
    if (closed || failed) return;
    failed = true;
    if (isReady) handlers.onError(error);
    else rejectReady(error);
  };
  // Chokidar emits one event per call; hand them over in one batch per turn of the event loop.
  const flush = (): void => {
    const events = queue;
    queue = [];
    if (!closed && !failed && events.length > 0) handlers.onEvents(events);
  };

  watcher.on("all", (event, p) => {
    if (closed || failed || !(event in TYPES)) return;
    const rel = path.relative(source, p).split(path.sep).join("/");
    if (rel === "") {
      if (event === "unlinkDir") fail(new WatchSourceError("root-gone", `the watched directory ${source} was deleted or moved`));
      return;
    }
    if (rel.startsWith("..")) return;
    if (queue.length === 0) setImmediate(flush);
    queue.push(toSourceEvent(event as keyof typeof TYPES, rel));
  });
  // Chokidar compares mtimes and drops the later writes of a file written in many chunks (a 20 MB
  // write gave one add and one change, both mid-write), and cannot stat names that are not UTF-8.
  // The raw fs.watch events fill both gaps: every write, and a rescan for an unnameable entry.
  if (!options.polling) {
    watcher.on("raw", (rawEvent, name, details) => {
      const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
      if (closed || failed || typeof watched !== "string") return;
      let events: SourceEvent[] = [];
      if (name.includes("\uFFFD") || watched.includes("\uFFFD")) {
        let dir = name.includes("\uFFFD") && !watched.includes("\uFFFD") ? watched : path.dirname(watched);
        while (dir.includes("\uFFFD")) dir = path.dirname(dir);
        const rel = path.relative(source, dir);
        if (rel.startsWith("..")) return;
        events = [{ type: "rescan", path: bytePathFromText(rel.split(path.sep).join("/")), isDir: true }];
      } else if (rawEvent === "change") {
        const file = path.basename(watched) === name ? watched : path.join(watched, name);
        const rel = path.relative(source, file).split(path.sep).join("/");
        if (rel === "" || rel.startsWith("..") || ignore?.(rel, false) === true) return;
        events = [{ type: "change", path: bytePathFromText(rel), isDir: false }];
      }
      if (events.length === 0) return;
      if (queue.length === 0) setImmediate(flush);
      queue.push(...events);
    });
  }
  watcher.on("error", (error: unknown) => {
    const err = error as NodeJS.ErrnoException;
    if (err.code === "ENOSPC") fail(new WatchSourceError("watch-limit", watchLimitMessage(source, undefined, undefined), { cause: err }));
    else fail(new WatchSourceError("failed", `chokidar on ${source}: ${err.message}`, { cause: err }));
  });
  watcher.on("ready", () => {
    isReady = true;
    const watched = watcher.getWatched();
    const watches = Object.values(watched).reduce((n, entries) => n + entries.length, 0);
    resolveReady({ watches });
  });

  return {
    ready,
    close: async () => {
      closed = true;
      await watcher.close();
    },
  };
}
