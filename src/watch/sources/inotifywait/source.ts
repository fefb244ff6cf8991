import { lstatSync } from "node:fs";
import { bytesOf } from "../../byte-path.ts";
import { spawnChild } from "../../children.ts";
import { countDirectories, readInotifyWatches, readMaxUserWatches } from "../inotify-proc.ts";
import { classifyStderrLine, INOTIFY_EVENTS, parseRecord, splitRecords } from "./parse.ts";
import {
  WatchSourceError,
  watchLimitMessage,
  type EventSource,
  type SourceEvent,
  type SourceHandlers,
  type Subscription,
} from "../source.ts";

// The inotifywait adapter: one `inotifywait -mr` child per subscription, one watch per directory.
// The fallback where rtsync's own inotify addon did not build, with two known limits (README,
// "When the inotifywait source runs"): after a directory rename inotifywait may report events
// deep inside it under the old name (inotify-tools issues #59, #130), so every directory rename
// is answered by a full sync shortly after; and its overflow record is turned into an `overflow`.

/** How long after a directory rename the full sync starts (renames meanwhile join it). */
export const RENAME_RESYNC_MS = 1500;
export const RENAME_RESYNC_REASON = "a directory was renamed (inotifywait may report later events inside it under the old name)";

export interface InotifywaitOptions {
  /** The binary to run (tests pass a fixture that imitates its failures). */
  readonly binary?: string;
  /** util-linux's setpriv: inotifywait runs under `setpriv --pdeathsig SIGTERM` and dies with the watcher. */
  readonly setpriv?: string;
}

// Builds the argument list; the format keeps any file name intact (NUL-terminated records).
export function buildInotifywaitArgs(source: string): string[] {
  const events = INOTIFY_EVENTS.flatMap((e) => ["-e", e]);
  return ["-m", "-r", "--format", "%e %c %w%f%0", "--no-newline", ...events, "--", source];
}

export function makeInotifywaitSource(source: string, options: InotifywaitOptions = {}): EventSource {
  return {
    kind: "inotifywait",
    subscribe: (handlers) => startInotifywait(source, options.binary ?? "inotifywait", options.setpriv, handlers),
  };
}

// A new regular file with one link is probably still open for writing: a close follows. Links,
// symlinks and special files get no close, so they are changes right away.
function refineCreate(event: SourceEvent, rootPrefix: Buffer): SourceEvent {
  if (event.type !== "create") return event;
  try {
    const stat = lstatSync(Buffer.concat([rootPrefix, bytesOf(event.path)]));
    return stat.isFile() && stat.nlink === 1 ? event : { ...event, type: "change" };
  } catch {
    return { ...event, type: "change" };
  }
}

// Remembers a MOVED_FROM by its cookie and gives the matching MOVED_TO its origin. A rename out
// of the tree leaves an unmatched cookie behind, so only the latest few are kept.
function pairMove(event: SourceEvent, cookie: string, moves: Map<string, SourceEvent["path"]>): SourceEvent {
  if (cookie === "0") return event;
  if (event.type === "move-from") {
    moves.set(cookie, event.path);
    if (moves.size > 64) moves.delete(moves.keys().next().value as string);
    return event;
  }
  if (event.type !== "move-to") return event;
  const from = moves.get(cookie);
  moves.delete(cookie);
  return from === undefined ? event : { ...event, from };
}

function startInotifywait(source: string, binary: string, setpriv: string | undefined, handlers: SourceHandlers): Subscription {
  const rootPrefix = Buffer.from(source.endsWith("/") ? source : `${source}/`, "latin1");
  // Node's spawn, not execa: the watcher runs for months, and execa with its dependencies was
  // ~200 KB of the watcher's code (about 1 MB of resident memory) for one child process.
  const child = spawnChild(binary, buildInotifywaitArgs(source), setpriv, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (e) => resolve(e.message));
    child.once("close", (code, signal) => resolve(signal === null ? `exit code ${String(code)}` : `killed by ${signal}`));
  });
  let closed = false;
  let failed = false;
  let isReady = false;
  let rest: Buffer = Buffer.alloc(0);
  let stderrText = "";
  let limitHit = false;
  const problems: string[] = [];
  // Rename halves seen, by cookie, so the MOVED_TO can name where it came from.
  const moves = new Map<string, SourceEvent["path"]>();
  let renameTimer: NodeJS.Timeout | undefined;
  const scheduleRenameResync = (): void => {
    if (renameTimer !== undefined) return;
    renameTimer = setTimeout(() => {
      renameTimer = undefined;
      if (!closed && !failed) handlers.onEvents([{ type: "rescan", path: "", isDir: true, reason: RENAME_RESYNC_REASON }]);
    }, RENAME_RESYNC_MS);
  };
  let resolveReady!: (v: { watches: number }) => void;
  let rejectReady!: (e: WatchSourceError) => void;
  const ready = new Promise<{ watches: number }>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined); // the caller may only look at onError

  const fail = (error: WatchSourceError): void => {
    if (closed || failed) return;
    failed = true;
    clearTimeout(renameTimer);
    if (!isReady) rejectReady(error);
    else handlers.onError(error);
    child.kill("SIGTERM");
  };

  const failOnLimit = async (): Promise<void> => {
    const [needed, limit] = await Promise.all([countDirectories(source), readMaxUserWatches()]);
    fail(new WatchSourceError("watch-limit", watchLimitMessage(source, needed, limit)));
  };

  child.stdout?.on("data", (chunk: Buffer) => {
    if (closed || failed) return;
    const split = splitRecords(rest, chunk);
    rest = split.rest;
    const events: SourceEvent[] = [];
    for (const record of split.records) {
      const parsed = parseRecord(record, rootPrefix);
      if (parsed.kind === "event") {
        events.push(pairMove(refineCreate(parsed.event, rootPrefix), parsed.cookie, moves));
        if (parsed.event.isDir && (parsed.event.type === "move-to" || parsed.event.type === "move-from")) scheduleRenameResync();
      } else if (parsed.kind === "overflow") events.push({ type: "overflow", path: "", isDir: true });
      else if (parsed.kind === "root-gone") {
        if (events.length > 0) handlers.onEvents(events);
        fail(new WatchSourceError("root-gone", `the watched directory ${source} was deleted, moved or unmounted (${parsed.flags})`));
        return;
      }
    }
    if (events.length > 0) handlers.onEvents(events);
  });

  child.stderr?.on("data", (chunk: Buffer) => {
    stderrText += chunk.toString("latin1");
    let nl = stderrText.indexOf("\n");
    while (nl >= 0) {
      const line = Buffer.from(stderrText.slice(0, nl), "latin1").toString("utf8");
      stderrText = stderrText.slice(nl + 1);
      nl = stderrText.indexOf("\n");
      const kind = classifyStderrLine(line);
      switch (kind.kind) {
        case "ready":
          isReady = true;
          void readInotifyWatches(child.pid ?? 0).then(async (watches) => {
            resolveReady({ watches: watches ?? (await countDirectories(source)) });
          });
          break;
        case "setting-up":
        case "hint":
          break;
        case "watch-limit":
          if (!limitHit) void failOnLimit();
          limitHit = true;
          break;
        case "instance-limit":
          fail(
            new WatchSourceError(
              "instance-limit",
              `cannot watch ${source}: ${kind.line.trim()}; raise the sysctl fs.inotify.max_user_instances (manifest key sysctl: fs.inotify.max_user_instances)`,
            ),
          );
          break;
        case "error":
          // A new directory that vanished before its watch was added is a normal race.
          if (isReady && kind.line.includes("No such file or directory")) break;
          problems.push(kind.line.trim());
          if (isReady) fail(new WatchSourceError("failed", `inotifywait on ${source}: ${kind.line.trim()}`));
          break;
      }
    }
  });

  void exited.then((how) => {
    if (closed || failed || limitHit) return;
    const why = problems.length > 0 ? problems.join("; ") : how;
    fail(new WatchSourceError("exited", `inotifywait on ${source} exited: ${why}`));
  });

  return {
    ready,
    close: async () => {
      if (!closed) {
        closed = true;
        clearTimeout(renameTimer);
        child.kill("SIGTERM");
      }
      await exited;
    },
  };
}
