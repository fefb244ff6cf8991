import { describe, expect, test } from "vitest";
import { startKnownPaths } from "./known-paths.ts";
import { startRepairCount } from "./repair-count.ts";

describe("startRepairCount", () => {
  test("a path whose event arrived after rsync reported it is the events' work, not a repair", () => {
    const known = startKnownPaths();
    const count = startRepairCount(known);
    count.add("late.txt");
    count.add("edited.txt");
    count.add("edited.txt"); // printed twice (a user's -i in rsyncArgs)
    known.add([{ path: "late.txt", tree: false }]); // its event, a moment after rsync sent it
    expect(count.result()).toEqual({ count: 1, sample: ["edited.txt"] });
  });

  test("over the bound nothing is counted: the events' paths were not tracked", () => {
    const known = startKnownPaths(1);
    const count = startRepairCount(known);
    count.add("x");
    known.add([{ path: "a", tree: false }, { path: "b", tree: false }]);
    expect(count.result()).toBeUndefined();
  });
});
