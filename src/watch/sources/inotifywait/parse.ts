import { bytePathOf } from "../../byte-path.ts";
import type { SourceEvent } from "../source.ts";

// Pure parsing of `inotifywait -mr --format '%e %c %w%f%0' --no-newline` output. Records are
// NUL-terminated (a file name can hold any byte but NUL and "/"), so paths stay raw bytes. The
// cookie (%c) pairs the two ends of a rename.

/**
 * The events we ask the kernel for. MODIFY too: a file written but still open is sent after the
 * watch's settle time (batching/settle.ts); its close sends it at once. q_overflow makes inotifywait print the kernel's overflow as a record (`Q_OVERFLOW 0 ` with an
 * empty path) instead of dropping it.
 */
export const INOTIFY_EVENTS = ["create", "modify", "close_write", "delete", "moved_from", "moved_to", "attrib", "delete_self", "move_self", "unmount", "q_overflow"] as const;

export interface SplitResult {
  readonly records: Buffer[];
  /** Bytes after the last NUL: the start of a record the next chunk completes. */
  readonly rest: Buffer;
}

const MODIFY_FLAGS = Buffer.from("MODIFY ");

/**
 * Splits a chunk (prefixed with the rest of the previous one) into complete records, without a
 * MODIFY record that repeats the one before it: a file written in small
 * pieces gives one record per write, and a repeat says nothing new (dropRepeatedModifies, the same
 * rule). Compared in place, before any Buffer is made for it: a 1 GiB file written 4 KiB at a
 * time is 262,144 records. Only within one chunk: the next may come after the path was sent.
 */
export function splitRecords(rest: Buffer, chunk: Buffer): SplitResult {
  const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
  const records: Buffer[] = [];
  let start = 0;
  let modifyStart = -1; // the last record kept, when it is a MODIFY
  let modifyEnd = -1;
  for (let nul = data.indexOf(0, start); nul >= 0; nul = data.indexOf(0, start)) {
    const repeat = modifyStart >= 0 && nul - start === modifyEnd - modifyStart && data.compare(data, modifyStart, modifyEnd, start, nul) === 0;
    if (!repeat) {
      records.push(data.subarray(start, nul));
      const isModify = nul - start > MODIFY_FLAGS.length && data.compare(MODIFY_FLAGS, 0, MODIFY_FLAGS.length, start, start + MODIFY_FLAGS.length) === 0;
      modifyStart = isModify ? start : -1;
      modifyEnd = isModify ? nul : -1;
    }
    start = nul + 1;
  }
  return { records, rest: Buffer.from(data.subarray(start)) };
}

export type ParsedRecord =
  /** `cookie` is "0" unless the event is one end of a rename. */
  | { readonly kind: "event"; readonly event: SourceEvent; readonly cookie: string }
  | { readonly kind: "root-gone"; readonly flags: string }
  /** The kernel's queue overflowed: events were dropped. */
  | { readonly kind: "overflow" }
  | { readonly kind: "ignored" };

const IGNORED: ParsedRecord = { kind: "ignored" };

// Turns one record ("CLOSE_WRITE,CLOSE 0 /src/a/b") into an event relative to `rootPrefix`
// (the source path with a trailing slash, as bytes).
export function parseRecord(record: Buffer, rootPrefix: Buffer): ParsedRecord {
  const space = record.indexOf(0x20);
  const space2 = space < 0 ? -1 : record.indexOf(0x20, space + 1);
  if (space2 < 0) return IGNORED;
  const flags = record.subarray(0, space).toString("latin1").split(",");
  const cookie = record.subarray(space + 1, space2).toString("latin1");
  const full = record.subarray(space2 + 1);
  if (flags.includes("Q_OVERFLOW")) return { kind: "overflow" };
  if (flags.includes("DELETE_SELF") || flags.includes("MOVE_SELF") || flags.includes("UNMOUNT")) {
    // A subdirectory's own *_SELF event duplicates its parent's DELETE/MOVED_FROM.
    const isRoot = full.equals(rootPrefix) || full.equals(rootPrefix.subarray(0, rootPrefix.length - 1));
    return isRoot ? { kind: "root-gone", flags: flags.join(",") } : IGNORED;
  }
  if (full.length <= rootPrefix.length || !full.subarray(0, rootPrefix.length).equals(rootPrefix)) return IGNORED;
  const rel = full.subarray(rootPrefix.length);
  const isDir = flags.includes("ISDIR");
  const path = bytePathOf(rel[rel.length - 1] === 0x2f ? rel.subarray(0, rel.length - 1) : rel);
  if (path === "") return IGNORED;
  const type = eventType(flags, isDir);
  return type === undefined ? IGNORED : { kind: "event", event: { type, path, isDir }, cookie };
}

function eventType(flags: readonly string[], isDir: boolean): SourceEvent["type"] | undefined {
  if (flags.includes("CREATE")) return isDir ? "create-dir" : "create";
  if (flags.includes("CLOSE_WRITE")) return "change";
  if (flags.includes("MODIFY")) return "modify";
  if (flags.includes("MOVED_FROM")) return "move-from";
  if (flags.includes("MOVED_TO")) return "move-to";
  if (flags.includes("DELETE")) return "delete";
  if (flags.includes("ATTRIB")) return "attrib";
  return undefined;
}

export type StderrLine =
  | { readonly kind: "ready" }
  | { readonly kind: "setting-up" }
  | { readonly kind: "watch-limit"; readonly line: string }
  | { readonly kind: "instance-limit"; readonly line: string }
  | { readonly kind: "error"; readonly line: string }
  | { readonly kind: "hint" };

// Classifies one line inotifywait wrote to stderr (its messages of inotify-tools 3.2x).
export function classifyStderrLine(line: string): StderrLine {
  if (line.startsWith("Watches established")) return { kind: "ready" };
  if (line.startsWith("Setting up watches")) return { kind: "setting-up" };
  if (line.includes("upper limit on inotify watches reached")) return { kind: "watch-limit", line };
  if (line.includes("upper limit on inotify instances reached") || line.includes("Couldn't initialize inotify")) {
    return { kind: "instance-limit", line };
  }
  if (line.startsWith("Please increase") || line.startsWith("Try increasing")) return { kind: "hint" };
  return { kind: "error", line };
}
