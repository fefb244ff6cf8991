import { describe, expect, test } from "vitest";
import { parseItemizedChange } from "./itemized.ts";

describe("parseItemizedChange", () => {
  test("created, updated and deleted paths, relative, without a directory's slash", () => {
    expect(parseItemizedChange("<f+++++++++ a/new.txt")).toEqual({ op: "created", path: "a/new.txt" });
    expect(parseItemizedChange("cd+++++++++ a/d/")).toEqual({ op: "created", path: "a/d" });
    expect(parseItemizedChange("<f.st...... a.txt")).toEqual({ op: "updated", path: "a.txt" });
    expect(parseItemizedChange(">fc.T...... x.bin")).toEqual({ op: "updated", path: "x.bin" });
    expect(parseItemizedChange("cLc.T...... link")).toEqual({ op: "updated", path: "link" });
    expect(parseItemizedChange("*deleting   old/x")).toEqual({ op: "deleted", path: "old/x" });
    expect(parseItemizedChange("*deleting   old/")).toEqual({ op: "deleted", path: "old" });
  });

  test("the root, a directory's time or mode, progress and statistics lines are not changes", () => {
    expect(parseItemizedChange(".d..t...... ./")).toBeUndefined();
    expect(parseItemizedChange("cd+++++++++ ./")).toBeUndefined();
    expect(parseItemizedChange(".d..t...... a/")).toBeUndefined();
    expect(parseItemizedChange(".d...p..... a/")).toBeUndefined();
    expect(parseItemizedChange(".f         a.txt")).toBeUndefined();
    expect(parseItemizedChange("              4 100%    1.95kB/s    0:00:00 (xfr#2, to-chk=0/4)")).toBeUndefined();
    expect(parseItemizedChange("Number of deleted files: 3 (reg: 2, dir: 1)")).toBeUndefined();
    expect(parseItemizedChange("")).toBeUndefined();
  });

  test("escaped bytes come back as the byte path (one char per byte)", () => {
    expect(parseItemizedChange("<f+++++++++ line\\#012break")).toEqual({ op: "created", path: "line\nbreak" });
    expect(parseItemizedChange("<f+++++++++ caf\\#303\\#251")).toEqual({ op: "created", path: "caf\u00c3\u00a9" });
  });
});
