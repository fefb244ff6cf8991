import { endianness } from "node:os";
import { bytePathOf, type BytePath } from "../../byte-path.ts";

// The kernel's inotify event records (struct inotify_event, <sys/inotify.h>), parsed from the
// bytes one read(2) returned. Pure.
//
//   int wd; uint32_t mask; uint32_t cookie; uint32_t len; char name[len];  (NUL-padded)

/** The mask bits rtsync uses; values from <sys/inotify.h>, the same on every Linux architecture. */
export const IN = {
  MODIFY: 0x0000_0002,
  ATTRIB: 0x0000_0004,
  CLOSE_WRITE: 0x0000_0008,
  MOVED_FROM: 0x0000_0040,
  MOVED_TO: 0x0000_0080,
  CREATE: 0x0000_0100,
  DELETE: 0x0000_0200,
  DELETE_SELF: 0x0000_0400,
  MOVE_SELF: 0x0000_0800,
  UNMOUNT: 0x0000_2000,
  Q_OVERFLOW: 0x0000_4000,
  IGNORED: 0x0000_8000,
  ONLYDIR: 0x0100_0000,
  DONT_FOLLOW: 0x0200_0000,
  ISDIR: 0x4000_0000,
} as const;

/**
 * What every directory watch asks for. MODIFY too: a file written but not closed (a log, a
 * database) is sent after its settle time (batching/settle.ts); a close still sends at once.
 */
export const WATCH_MASK =
  IN.CREATE | IN.MODIFY | IN.CLOSE_WRITE | IN.DELETE | IN.MOVED_FROM | IN.MOVED_TO | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR | IN.DONT_FOLLOW;

/** One inotify event as the kernel wrote it; `name` is raw bytes (latin1), "" for the watched directory itself. */
export interface RawEvent {
  readonly wd: number;
  readonly mask: number;
  readonly cookie: number;
  readonly name: BytePath;
}

const HEADER = 16;
const LITTLE = endianness() === "LE";

/** Every complete record in `bytes[0, length)`; the kernel never splits one across reads. */
export function parseEventRecords(bytes: Buffer, length: number, little = LITTLE): RawEvent[] {
  const events: RawEvent[] = [];
  let at = 0;
  while (at + HEADER <= length) {
    const wd = little ? bytes.readInt32LE(at) : bytes.readInt32BE(at);
    const mask = little ? bytes.readUInt32LE(at + 4) : bytes.readUInt32BE(at + 4);
    const cookie = little ? bytes.readUInt32LE(at + 8) : bytes.readUInt32BE(at + 8);
    const len = little ? bytes.readUInt32LE(at + 12) : bytes.readUInt32BE(at + 12);
    const start = at + HEADER;
    if (start + len > length) break;
    let end = bytes.indexOf(0, start);
    if (end < 0 || end > start + len) end = start + len;
    events.push({ wd, mask, cookie, name: bytePathOf(bytes.subarray(start, end)) });
    at = start + len;
  }
  return events;
}

/** The mask as inotify's flag names, for logs and test failures: "MOVED_FROM|ISDIR". */
export function describeMask(mask: number): string {
  const names = Object.entries(IN)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => name);
  return names.length > 0 ? names.join("|") : `0x${mask.toString(16)}`;
}
