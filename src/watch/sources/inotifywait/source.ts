import { lstatSync } from "node:fs";
import { bytesOf } from "../../byte-path.ts";
import { spawnChild } from "../../children.ts";
import { countDirectories, findUnwatchedDirectory, readInotifyWatches, readMaxUserWatches, readWatchedInodes } from "../inotify-proc.ts";
import { classifyStderrLine, INOTIFY_EVENTS, parseRecord, splitRecords } from "./parse.ts";
import {
  dropRepeatedModifies,
  MODIFY_PAUSE_MS,
  onlyModifies,
  WatchSourceError,
  watchLimitMessage,
  type EventSource,
  type SourceEvent,
  type SourceHandlers,
  type Subscription,
} from "../source.ts";

/** What inotifywait does at the watch limit, and what does better. */
const INOTIFYWAIT_LIMIT_NOTE = "inotifywait stops watching the whole tree at the limit (watcher: inotify, the default where its addon builds, leaves only the directories past it unwatched)";

// The inotifywait adapter: one `inotifywait -mr` child per subscription, one watch per directory.
// The fallback where rtsync's own inotify addon did not build. inotifywait's own view of the tree
// goes wrong in three ways (docs/design.md, "When the inotifywait source runs"), and each is repaired the
// same way: a fresh inotifywait, which walks and watches the whole tree again, replaces the old one
// once it is ready, and then a full sync covers whatever fell into the gap.
// - After a directory rename it may report events deep inside under the old name (inotify-tools
//   issues #59, #130): every directory moved away restarts it, 1.5 s later (renames meanwhile join).
// - Its overflow record: the events are lost, and so are the watches of directories made meanwhile;
//   the `overflow` is passed on once the new child watches everything.
// - It misses the watch of a directory made right after its parent: after directories appear, their
//   subtrees are checked against the inodes it watches (/proc/PID/fdinfo); one missing restarts it.

/** How long after a directory rename the restart starts (renames meanwhile join it). */
export const RENAME_RESYNC_MS = 1500;
export const RENAME_RESYNC_REASON = "a directory was renamed (inotifywait may report later events inside it under the old name)";
/** How long after the last new directory its subtree is checked for watches. */
export const AUDIT_DELAY_MS = 300;
export const MISSED_WATCH_REASON = "inotifywait missed the watch of a new directory; it was restarted";

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
    subscribe: (handlers) => startRepairing(source, options.binary ?? "inotifywait", options.setpriv, handlers),
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

interface Child extends Subscription {
  readonly pid: number | undefined;
}

// One inotifywait child: its output parsed into events, its failures into one WatchSourceError.
function startChild(source: string, binary: string, setpriv: string | undefined, handlers: SourceHandlers): Child {
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
  let modifyPause: NodeJS.Timeout | undefined;
  let stderrText = "";
  let limitHit = false;
  const problems: string[] = [];
  // Rename halves seen, by cookie, so the MOVED_TO can name where it came from.
  const moves = new Map<string, SourceEvent["path"]>();
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
    if (!isReady) rejectReady(error);
    else handlers.onError(error);
    child.kill("SIGTERM");
  };

  const failOnLimit = async (): Promise<void> => {
    const [needed, limit] = await Promise.all([countDirectories(source), readMaxUserWatches()]);
    // inotifywait gives up the whole tree at the limit; rtsync's own source keeps the rest (issue 18).
    fail(new WatchSourceError("watch-limit", `${watchLimitMessage(source, needed, limit)}; ${INOTIFYWAIT_LIMIT_NOTE}`));
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
      } else if (parsed.kind === "overflow") events.push({ type: "overflow", path: "", isDir: true });
      else if (parsed.kind === "root-gone") {
        if (events.length > 0) handlers.onEvents(dropRepeatedModifies(events));
        fail(new WatchSourceError("root-gone", `the watched directory ${source} was deleted, moved or unmounted (${parsed.flags})`));
        return;
      }
    }
    if (events.length > 0) handlers.onEvents(dropRepeatedModifies(events));
    // Only writes: inotifywait writes one record per event, so its pipe is left alone a moment;
    // it fills, inotifywait waits, and the kernel merges the writes meanwhile (MODIFY_PAUSE_MS).
    if (onlyModifies(events) && modifyPause === undefined) {
      child.stdout?.pause();
      modifyPause = setTimeout(() => {
        modifyPause = undefined;
        child.stdout?.resume();
      }, MODIFY_PAUSE_MS);
    }
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
    pid: child.pid,
    ready,
    close: async () => {
      if (!closed) {
        closed = true;
        clearTimeout(modifyPause);
        child.stdout?.resume(); // a paused pipe would hold the child's close back
        child.kill("SIGTERM");
      }
      await exited;
    },
  };
}

// The subscription: one child at a time, replaced by a fresh one (see the top of this file) when
// its view of the tree may be wrong. Both deliver events while the new one sets up (a duplicate is
// harmless, a gap is not); the repair's full sync is asked for once the new one watches everything.
function startRepairing(source: string, binary: string, setpriv: string | undefined, handlers: SourceHandlers): Subscription {
  const rootPrefix = Buffer.from(source.endsWith("/") ? source : `${source}/`, "latin1");
  let closed = false;
  let failed = false;
  let current: Child;
  let replacing: Child | undefined;
  // What the next replacement answers: an overflow (its own full sync), or rescans with reasons.
  let overflowWanted = false;
  const reasonsWanted = new Set<string>();
  let renameTimer: NodeJS.Timeout | undefined;
  let auditTimer: NodeJS.Timeout | undefined;
  let newDirs: Buffer[] = [];
  let lastMissed: string | undefined;

  const fail = (error: WatchSourceError): void => {
    if (closed || failed) return;
    failed = true;
    clearTimeout(renameTimer);
    clearTimeout(auditTimer);
    handlers.onError(error);
  };

  const start = (): Child => {
    const child: Child = startChild(source, binary, setpriv, {
      onEvents: (events) => {
        if (closed || failed) return;
        const passed: SourceEvent[] = [];
        for (const e of events) {
          if (e.type === "overflow") repair(undefined);
          else passed.push(e);
          // Names go stale under a directory moved away (within the tree or out of it); one moved
          // in from outside is walked afresh.
          if (e.isDir && e.type === "move-from") scheduleRename();
          if (e.isDir && (e.type === "create-dir" || e.type === "move-to")) scheduleAudit(Buffer.concat([rootPrefix, bytesOf(e.path)]));
        }
        if (passed.length > 0) handlers.onEvents(passed);
      },
      // A child being replaced, or replaced, is closed first: only a live one's error counts.
      onError: (error) => (child === current || child === replacing ? fail(error) : undefined),
    });
    return child;
  };

  /** A replacement, answered by the overflow's full sync (`reason` undefined) or a rescan for `reason`. */
  const repair = (reason: string | undefined): void => {
    if (reason === undefined) overflowWanted = true;
    else reasonsWanted.add(reason);
    if (replacing === undefined) replace();
  };

  const replace = (): void => {
    if (closed || failed) return;
    const overflow = overflowWanted;
    const reasons = [...reasonsWanted];
    overflowWanted = false;
    reasonsWanted.clear();
    const next = start();
    replacing = next;
    void next.ready.then(
      async () => {
        if (closed || failed) return;
        const old = current;
        current = next;
        replacing = undefined;
        await old.close();
        if (closed || failed) return;
        handlers.onEvents([overflow ? { type: "overflow", path: "", isDir: true } : { type: "rescan", path: "", isDir: true, reason: reasons.join("; ") }]);
        if (overflowWanted || reasonsWanted.size > 0) replace(); // asked for while this one set up: its walk may have missed it
      },
      (error: unknown) => fail(error instanceof WatchSourceError ? error : new WatchSourceError("failed", String(error))),
    );
  };

  const scheduleRename = (): void => {
    if (renameTimer !== undefined) return;
    renameTimer = setTimeout(() => {
      renameTimer = undefined;
      repair(RENAME_RESYNC_REASON);
    }, RENAME_RESYNC_MS);
  };

  // The first new directory arms the check; those that follow within AUDIT_DELAY_MS join it.
  const scheduleAudit = (dir: Buffer): void => {
    newDirs.push(dir);
    auditTimer ??= setTimeout(() => {
      auditTimer = undefined;
      const dirs = newDirs;
      newDirs = [];
      void audit(dirs);
    }, AUDIT_DELAY_MS);
  };

  // New directories, with everything under them, must be watched by the live child. One that is
  // not may only be waiting for inotifywait to read its CREATE (a busy tree): it counts as missed
  // when it is still unwatched AUDIT_DELAY_MS later.
  const audit = async (dirs: readonly Buffer[]): Promise<void> => {
    const unwatched = async (among: readonly Buffer[]): Promise<Buffer | undefined> => {
      if (closed || failed || replacing !== undefined) return undefined; // a fresh walk is under way
      const pid = current.pid;
      const watched = pid === undefined ? undefined : await readWatchedInodes(pid);
      return watched === undefined ? undefined : findUnwatchedDirectory(among, watched);
    };
    const first = await unwatched(dirs);
    if (first === undefined) return;
    await new Promise((r) => setTimeout(r, AUDIT_DELAY_MS));
    const missed = await unwatched([first]);
    if (missed === undefined || closed || failed) return;
    // One that a fresh inotifywait did not watch either (a file system without inotify, say) would
    // restart it after every new directory: it is given up on, as before this check existed.
    const key = missed.toString("latin1");
    if (key === lastMissed) return;
    lastMissed = key;
    repair(MISSED_WATCH_REASON);
  };

  current = start();
  return {
    ready: current.ready,
    close: async () => {
      closed = true;
      clearTimeout(renameTimer);
      clearTimeout(auditTimer);
      await Promise.all([current.close(), replacing?.close()]);
    },
  };
}
