import { expect, test } from "vitest";
import { parseItemizeLine, tallyItemized } from "./itemize.ts";

// Lines as rsync 3.5.0 prints them for `rsync -rlni --delete` (local: ">", to a daemon: "<").
const OUTPUT = [
  "created directory /backup/new",
  "cd+++++++++ ./",
  "*deleting   extradir/q",
  "*deleting   extradir/",
  "*deleting   extra file.txt",
  ">f..T...... b",
  "<f.sT...... sized",
  ">fc.T...... content",
  "cLc.T...... link -> a",
  "cL+++++++++ newlink -> b",
  ">f+++++++++ sub/c",
  "<f+++++++++ pushed",
  "cd+++++++++ emptydir/",
  ".d..t...... sub/",
  "",
].join("\n");

test("each itemized line is a missing, extra or different name; the root and rsync's chatter are not", () => {
  expect(parseItemizeLine("*deleting   extradir/")).toEqual({ kind: "extra", path: "extradir/" });
  expect(parseItemizeLine(">f+++++++++ sub/c")).toEqual({ kind: "missing", path: "sub/c" });
  expect(parseItemizeLine("cLc.T...... link -> a")).toEqual({ kind: "different", path: "link" });
  expect(parseItemizeLine(">f..T...... name with  spaces")).toEqual({ kind: "different", path: "name with  spaces" });
  expect(parseItemizeLine(">f+++++++++ new\\#012line")).toEqual({ kind: "missing", path: "new\\#012line" });
  expect(parseItemizeLine("cd+++++++++ ./")).toBeUndefined();
  expect(parseItemizeLine(".d..t...... sub/")).toEqual({ kind: "different", path: "sub/" });
  expect(parseItemizeLine(".d......... sub/")).toBeUndefined();
  expect(parseItemizeLine("created directory /backup/new")).toBeUndefined();
  expect(parseItemizeLine("")).toBeUndefined();
});

test("a whole output: counts and the first paths of each kind", () => {
  expect(tallyItemized(OUTPUT, 2)).toEqual({
    missing: { count: 4, sample: ["newlink", "sub/c"] },
    extra: { count: 3, sample: ["extradir/q", "extradir/"] },
    different: { count: 5, sample: ["b", "sized"] },
  });
  expect(tallyItemized("")).toEqual({ missing: { count: 0, sample: [] }, extra: { count: 0, sample: [] }, different: { count: 0, sample: [] } });
});
