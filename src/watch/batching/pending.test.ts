import { expect, test } from "vitest";
import { addChanges, EMPTY } from "./pending.ts";

test("addChanges never changes the pending set it is given, and copies nothing it does not change", () => {
  const a = addChanges(EMPTY, [{ path: "dir", tree: true }, { path: "f", tree: false, write: "open" }], 1, 100);
  const before = { entries: [...a.entries], open: [...a.open] };
  // Under a pending tree: nothing to add, so the maps are shared, not copied.
  const b = addChanges(a, [{ path: "dir/x", tree: false }], 2, 100);
  expect(b.entries).toBe(a.entries);
  expect(b.open).toBe(a.open);
  // A new path and a close: new maps; the old pending set is as it was.
  const c = addChanges(b, [{ path: "g", tree: false }, { path: "f", tree: false, write: "closed" }], 3, 100);
  expect([...c.entries].sort()).toEqual([["dir", true], ["f", false], ["g", false]]);
  expect(c.open.size).toBe(0);
  expect({ entries: [...a.entries], open: [...a.open] }).toEqual(before);
  expect(EMPTY.entries.size + EMPTY.open.size + EMPTY.renames.size).toBe(0);
});

test("past maxPaths the pending set becomes one full sync", () => {
  const changes = Array.from({ length: 4 }, (_, i) => ({ path: `f${i}`, tree: false }));
  expect(addChanges(EMPTY, changes, 1, 3)).toMatchObject({ full: true, entries: new Map() });
});
