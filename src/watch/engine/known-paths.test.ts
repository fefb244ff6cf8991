import { describe, expect, test } from "vitest";
import { startKnownPaths } from "./known-paths.ts";

describe("known paths", () => {
  test("a named path, and what lies under a named tree, is covered; nothing else is", () => {
    const k = startKnownPaths();
    k.add([{ path: "a.txt", tree: false }, { path: "d", tree: true }, { path: "e", tree: false }]);
    expect(k.covers("a.txt")).toBe(true);
    expect(k.covers("d/x/y")).toBe(true);
    expect(k.covers("e")).toBe(true);
    expect(k.covers("e/inside")).toBe(false);
    expect(k.covers("b.txt")).toBe(false);
  });

  test("a renamed directory's old path is covered (the target's copy there is deleted)", () => {
    const k = startKnownPaths();
    k.add([{ path: "new", tree: true, renamedFrom: "old" }]);
    expect(k.covers("old/f")).toBe(true);
  });

  test("a successful run forgets what it sent, not what changed again after it started", () => {
    const k = startKnownPaths();
    k.add([{ path: "a", tree: false }, { path: "b", tree: false }]);
    const mark = k.mark();
    k.add([{ path: "b", tree: false }]);
    k.sent(["a", "b"], mark);
    expect(k.covers("a")).toBe(false);
    expect(k.covers("b")).toBe(true);
  });

  test("a successful full sync forgets everything named before it", () => {
    const k = startKnownPaths();
    k.add([{ path: "a", tree: false }]);
    const mark = k.mark();
    k.add([{ path: "during", tree: false }]);
    k.synced(mark);
    expect(k.covers("a")).toBe(false);
    expect(k.covers("during")).toBe(true);
  });

  test("past the bound, or a change of the whole tree, everything is covered until the next full sync", () => {
    const k = startKnownPaths(2);
    k.add([{ path: "a", tree: false }, { path: "b", tree: false }, { path: "c", tree: false }]);
    expect(k.overflowed()).toBe(true);
    expect(k.covers("anything")).toBe(true);
    k.synced(k.mark());
    expect(k.covers("anything")).toBe(false);
    const root = startKnownPaths();
    root.add([{ path: "", tree: true }]);
    expect(root.covers("x")).toBe(true);
  });
});
