import { describe, expect, test } from "vitest";
import { bytePathFromText } from "../byte-path.ts";
import { buildExcludeMatcher } from "./exclude-match.ts";

describe("buildExcludeMatcher follows rsync's exclude rules", () => {
  const cases: [pattern: string, path: string, isDir: boolean, excluded: boolean][] = [
    ["*.swp", "a/.f.swp", false, true],
    ["*.swp", "a.swpx", false, false],
    [".cache/", ".cache", true, true],
    [".cache/", "x/.cache/y", false, true], // under an excluded directory
    [".cache/", ".cache", false, false], // a file named .cache is not a directory
    ["/top", "top", false, true],
    ["/top", "a/top", false, false],
    ["a/b", "x/a/b", false, true],
    ["a/b", "xa/b", false, false],
    ["logs/**", "logs/1/2.log", false, true],
    ["tmp/***", "tmp", true, true],
    ["tmp/***", "tmp/x", false, true],
    ["file?.txt", "file1.txt", false, true],
    ["file?.txt", "file/.txt", false, false],
    ["[ab].o", "b.o", false, true],
    ["[!ab].o", "b.o", false, false],
    ["\\*lit", "*lit", false, true],
    ["\\*lit", "xlit", false, false],
    ["4913", "dir/4913", false, true],
    ["日本/", "日本", true, true],
  ];
  test.each(cases)("%s vs %s (dir %s) -> %s", (pattern, path, isDir, excluded) => {
    expect(buildExcludeMatcher([pattern])(bytePathFromText(path), isDir)).toBe(excluded);
  });

  test("no patterns exclude nothing", () => {
    expect(buildExcludeMatcher([])("anything", false)).toBe(false);
  });
});
