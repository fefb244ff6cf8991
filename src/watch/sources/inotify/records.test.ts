import { expect, test } from "vitest";
import { IN, describeMask, parseEventRecords } from "./records.ts";

// struct inotify_event as the kernel writes it: 16-byte header, name NUL-padded to `len`.
function record(wd: number, mask: number, cookie: number, name: Buffer, len = name.length === 0 ? 0 : (Math.floor(name.length / 16) + 1) * 16): Buffer {
  const out = Buffer.alloc(16 + len);
  out.writeInt32LE(wd, 0);
  out.writeUInt32LE(mask >>> 0, 4);
  out.writeUInt32LE(cookie, 8);
  out.writeUInt32LE(len, 12);
  name.copy(out, 16);
  return out;
}

test("records are parsed with their names as raw bytes, padding dropped", () => {
  const odd = Buffer.from([0x6f, 0xff, 0xfe, 0x0a, 0x2d]); // not UTF-8, a newline, a dash
  const bytes = Buffer.concat([
    record(1, IN.MOVED_FROM | IN.ISDIR, 77, Buffer.from("a1")),
    record(1, IN.MOVED_TO | IN.ISDIR, 77, Buffer.from("b1")),
    record(2, IN.MOVE_SELF, 0, Buffer.alloc(0)),
    record(3, IN.CREATE, 0, odd),
    record(-1, IN.Q_OVERFLOW, 0, Buffer.alloc(0)),
  ]);
  const events = parseEventRecords(bytes, bytes.length, true);
  expect(events).toEqual([
    { wd: 1, mask: IN.MOVED_FROM | IN.ISDIR, cookie: 77, name: "a1" },
    { wd: 1, mask: IN.MOVED_TO | IN.ISDIR, cookie: 77, name: "b1" },
    { wd: 2, mask: IN.MOVE_SELF, cookie: 0, name: "" },
    { wd: 3, mask: IN.CREATE, cookie: 0, name: odd.toString("latin1") },
    { wd: -1, mask: IN.Q_OVERFLOW, cookie: 0, name: "" },
  ]);
  expect(Buffer.from(events[3]?.name ?? "", "latin1")).toEqual(odd);
});

test("only complete records within the length read are parsed", () => {
  const bytes = Buffer.concat([record(1, IN.CREATE, 0, Buffer.from("x")), record(1, IN.DELETE, 0, Buffer.from("y"))]);
  expect(parseEventRecords(bytes, bytes.length - 4, true)).toHaveLength(1);
  expect(parseEventRecords(bytes, 10, true)).toEqual([]);
});

test("masks read as inotify's flag names", () => {
  expect(describeMask(IN.MOVED_FROM | IN.ISDIR)).toBe("MOVED_FROM|ISDIR");
  expect(describeMask(IN.DELETE_SELF)).toBe("DELETE_SELF");
});
