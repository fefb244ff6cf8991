import { describe, expect, test } from "vitest";
import { classifyStderrLine, parseRecord, splitRecords } from "./parse.ts";

const root = Buffer.from("/w/src/");
const rec = (text: string | Buffer): Buffer => (typeof text === "string" ? Buffer.from(text, "latin1") : text);

describe("splitRecords", () => {
  test("keeps a record split across chunks, and names with newlines and spaces intact", () => {
    const a = splitRecords(Buffer.alloc(0), Buffer.from("CREATE 0 /w/src/a b\0CLOSE_WRITE,CLOSE 0 /w/src/x\ny"));
    expect(a.records.map(String)).toEqual(["CREATE 0 /w/src/a b"]);
    const b = splitRecords(a.rest, Buffer.from("z\0"));
    expect(b.records.map(String)).toEqual(["CLOSE_WRITE,CLOSE 0 /w/src/x\nyz"]);
    expect(b.rest.length).toBe(0);
  });
});

test("splitRecords drops a MODIFY record that repeats the one before it, and nothing else", () => {
  const chunk = Buffer.from(
    ["MODIFY 0 /w/src/log", "MODIFY 0 /w/src/log", "MODIFY 0 /w/src/other", "MODIFY 0 /w/src/log", "MODIFY 0 /w/src/log", "CLOSE_WRITE,CLOSE 0 /w/src/log", "CLOSE_WRITE,CLOSE 0 /w/src/log", "MODIFY 0 /w/src/log", "MODIFY 0 /w/src/lo"].join("\0") + "\0",
  );
  expect(splitRecords(Buffer.alloc(0), chunk).records.map(String)).toEqual([
    "MODIFY 0 /w/src/log",
    "MODIFY 0 /w/src/other",
    "MODIFY 0 /w/src/log",
    "CLOSE_WRITE,CLOSE 0 /w/src/log",
    "CLOSE_WRITE,CLOSE 0 /w/src/log",
    "MODIFY 0 /w/src/log",
    "MODIFY 0 /w/src/lo",
  ]);
});

describe("parseRecord", () => {
  test.each([
    ["CREATE 0 /w/src/f", { type: "create", path: "f", isDir: false }],
    ["CLOSE_WRITE,CLOSE 0 /w/src/a/ f ", { type: "change", path: "a/ f ", isDir: false }],
    ["CREATE,ISDIR 0 /w/src/d", { type: "create-dir", path: "d", isDir: true }],
    ["DELETE,ISDIR 0 /w/src/d", { type: "delete", path: "d", isDir: true }],
    ["ATTRIB,ISDIR 0 /w/src/d", { type: "attrib", path: "d", isDir: true }],
    ["MODIFY 0 /w/src/log", { type: "modify", path: "log", isDir: false }],
  ])("%s", (line, event) => {
    expect(parseRecord(rec(line), root)).toEqual({ kind: "event", event, cookie: "0" });
  });

  test("both ends of a rename carry the same cookie", () => {
    expect(parseRecord(rec("MOVED_FROM,ISDIR 6c3 /w/src/old"), root)).toEqual({
      kind: "event",
      event: { type: "move-from", path: "old", isDir: true },
      cookie: "6c3",
    });
    expect(parseRecord(rec("MOVED_TO 6c3 /w/src/-n"), root)).toEqual({ kind: "event", event: { type: "move-to", path: "-n", isDir: false }, cookie: "6c3" });
  });

  test("non-UTF-8 bytes survive as one char per byte", () => {
    const raw = Buffer.concat([Buffer.from("CLOSE_WRITE,CLOSE 0 /w/src/"), Buffer.from([0xff, 0xfe])]);
    expect(parseRecord(raw, root)).toEqual({ kind: "event", event: { type: "change", path: "\xff\xfe", isDir: false }, cookie: "0" });
  });

  test("the root's own DELETE_SELF/MOVE_SELF means the source is gone; a subdirectory's is ignored", () => {
    expect(parseRecord(rec("DELETE_SELF 0 /w/src/"), root)).toEqual({ kind: "root-gone", flags: "DELETE_SELF" });
    expect(parseRecord(rec("MOVE_SELF 0 /w/src/"), root)).toEqual({ kind: "root-gone", flags: "MOVE_SELF" });
    expect(parseRecord(rec("DELETE_SELF 0 /w/src/sub/"), root)).toEqual({ kind: "ignored" });
    expect(parseRecord(rec("IGNORED 0 /w/src/sub/"), root)).toEqual({ kind: "ignored" });
    expect(parseRecord(rec("CREATE 0 /elsewhere/f"), root)).toEqual({ kind: "ignored" });
  });
});

test("an overflow record (printed with q_overflow, empty path) is an overflow", () => {
  expect(parseRecord(rec("Q_OVERFLOW 0 "), root)).toEqual({ kind: "overflow" });
});

describe("classifyStderrLine", () => {
  test("recognises readiness and the kernel limits", () => {
    expect(classifyStderrLine("Watches established.")).toEqual({ kind: "ready" });
    expect(classifyStderrLine("Failed to watch /w/src; upper limit on inotify watches reached!").kind).toBe("watch-limit");
    expect(classifyStderrLine("Couldn't initialize inotify: Too many open files").kind).toBe("instance-limit");
    expect(classifyStderrLine("Couldn't watch /w/nope: No such file or directory").kind).toBe("error");
  });
});
