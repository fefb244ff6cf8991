import { describe, expect, test } from "vitest";
import { buildFilterList, buildFilterPatterns, buildPattern } from "./filter-list.ts";

describe("buildFilterPatterns", () => {
  test("anchors each path at the root and lists every parent directory once", () => {
    const entries = new Map([
      ["a/b/f", false],
      ["a/b/g", false],
      ["top", false],
    ]);
    expect(buildFilterPatterns(entries)).toEqual(["/a/", "/a/b/", "/a/b/f", "/a/b/g", "/top"]);
  });

  test("a directory tree is listed with everything under it, and covers listed paths inside it", () => {
    const entries = new Map([
      ["x/new", true],
      ["x/new/deep/file", false],
      ["x/newer", false],
    ]);
    expect(buildFilterPatterns(entries)).toEqual(["/x/", "/x/new", "/x/new/***", "/x/newer"]);
  });

  test("escapes glob characters only in patterns rsync reads as wildcards", () => {
    expect(buildPattern("plain\\name", "")).toBe("/plain\\name");
    expect(buildPattern("star*[x]?", "")).toBe("/star\\*\\[x]\\?");
    expect(buildPattern("back\\slash*", "")).toBe("/back\\\\slash\\*");
    expect(buildPattern("dir\\", "/***")).toBe("/dir\\\\/***");
    expect(buildFilterPatterns(new Map([["[d]/f", false]]))).toEqual(["/\\[d]/", "/\\[d]/f"]);
  });

  test("names with newlines, leading dashes and non-UTF-8 bytes pass through byte for byte", () => {
    const odd = Buffer.from([0x6e, 0xff, 0x0a, 0x2d]).toString("latin1"); // n \xff \n -
    const list = buildFilterList(new Map([[`-dash/${odd}`, false]]));
    expect(list).toEqual(Buffer.concat([Buffer.from("/-dash/\0/-dash/"), Buffer.from([0x6e, 0xff, 0x0a, 0x2d, 0])]));
  });

  test("an empty batch is an empty list", () => {
    expect(buildFilterList(new Map())).toEqual(Buffer.alloc(0));
  });
});
