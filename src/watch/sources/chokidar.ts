import path from "node:path";
import { lstatSync, type BigIntStats, type Stats } from "node:fs";
import { watch, type FSWatcher } from "chokidar";
import { bytePathFromText, parentOf } from "../byte-path.ts";
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

// What a file looked like when it was last reported: equal signatures mean no write in between
// (besides one that came within the same timestamp tick, which fs.watch reports on its own).
function signatureOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.nlink}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

function lstatOf(file: string): BigIntStats | undefined {
  try {
    return lstatSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR, EACCES: gone for all we can tell
  }
}

// Files reported recently enough to recognise chokidar's late report of the same write.
const MAX_REMEMBERED = 4096;

function startChokidar(source: string, options: ChokidarSourceOptions, handlers: SourceHandlers): Subscription {
  const ignore = options.ignore;
  /** A path relative to the source, "/"-separated ("" for the source, ".." first outside it). */
  const relOf = (p: string): string => path.relative(source, p).split(path.sep).join("/");
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
            const rel = relOf(p);
            return rel !== "" && !rel.startsWith("..") && ignore(rel, stats?.isDirectory());
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

  // One new file is seen twice: the raw fs.watch "change" of its write at once, and chokidar's
  // `add` once it has read the whole directory again (tens of ms later in a directory of a few
  // thousand files, after the run the raw event started). The same goes for chokidar's `change`
  // after a raw one. A run always starts after the event that asked for it, so when the file
  // still looks as it did when it was last reported, that run reads it as it is now and the
  // late report is dropped. Raw events are never dropped: they are the only sign of a write that
  // changed neither size nor timestamps (coarse kernel clocks), so nothing is lost this way.
  // (Holding new files back until writes go quiet, as "open" files are for inotifywait, would
  // delay every write by a guessed quiet time, and fs.watch has no close to end the hold.)
  const reported = new Map<string, string>();
  const remember = (rel: string, stats: BigIntStats | undefined): string | undefined => {
    reported.delete(rel);
    if (stats === undefined) return undefined;
    const signature = signatureOf(stats);
    reported.set(rel, signature);
    if (reported.size > MAX_REMEMBERED) reported.delete(reported.keys().next().value as string);
    return signature;
  };
  const push = (events: readonly SourceEvent[]): void => {
    if (queue.length === 0) setImmediate(flush);
    queue.push(...events);
  };

  watcher.on("all", (event, p) => {
    if (closed || failed || !(event in TYPES)) return;
    const rel = relOf(p);
    if (rel === "") {
      if (event === "unlinkDir") fail(new WatchSourceError("root-gone", `the watched directory ${source} was deleted or moved`));
      return;
    }
    if (rel.startsWith("..")) return;
    if ((event === "add" || event === "change") && !options.polling && !rel.includes("\uFFFD")) {
      const before = reported.get(rel);
      const now = remember(rel, lstatOf(p));
      if (before !== undefined && before === now) return;
    } else if (event === "unlink" || event === "unlinkDir") reported.delete(rel);
    push([toSourceEvent(event as keyof typeof TYPES, rel)]);
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
        const rel = relOf(dir);
        if (rel.startsWith("..")) return;
        events = [{ type: "rescan", path: bytePathFromText(rel), isDir: true }];
      } else if (rawEvent === "change") {
        const file = path.basename(watched) === name ? watched : path.join(watched, name);
        const rel = relOf(file);
        if (rel === "" || rel.startsWith("..") || ignore?.(rel, false) === true) return;
        remember(rel, lstatOf(file));
        events = [{ type: "change", path: bytePathFromText(rel), isDir: false }];
      } else if (rawEvent === "rename" && path.basename(watched) !== name) {
        // A name appeared in or vanished from a watched directory. chokidar reports it as well,
        // after re-reading the directory, but under load it was seen to report the add of a
        // short-lived file (an editor's `4913` probe) and never its unlink: the replica kept a
        // file the source no longer had. A name gone now is sent as a deleted tree at once; one that
        // exists as a file is reported like a write (chokidar's later add of it is then dropped
        // as unchanged); directories are left to chokidar's addDir/unlinkDir, which send them whole.
        const file = path.join(watched, name);
        const rel = relOf(file);
        if (rel === "" || rel.startsWith("..")) return;
        const stats = lstatOf(file);
        if (stats?.isDirectory() === true || ignore?.(rel, stats === undefined ? undefined : false) === true) return;
        if (stats === undefined) {
          // File or directory, it cannot tell any more: sent as a tree (the name and anything
          // under it), which deletes either on the replica.
          reported.delete(rel);
          events = [{ type: "delete", path: bytePathFromText(rel), isDir: true }];
        } else {
          remember(rel, stats);
          events = [{ type: "change", path: bytePathFromText(rel), isDir: false }];
        }
      }
      if (events.length > 0) push(events);
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
