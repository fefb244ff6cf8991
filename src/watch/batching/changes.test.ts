import { expect, test } from "vitest";
import { buildChanges } from "./changes.ts";
import { buildExcludeMatcher } from "./exclude-match.ts";
import type { SourceEvent } from "../sources/source.ts";

test("directories that appear, move or vanish are replicated whole; excluded paths are dropped", () => {
  const events: SourceEvent[] = [
    { type: "create", path: "f", isDir: false },
    { type: "change", path: "f", isDir: false },
    { type: "create-dir", path: "d", isDir: true },
    { type: "move-from", path: "old", isDir: true },
    { type: "move-to", path: "new", isDir: true },
    { type: "delete", path: "g", isDir: false },
    { type: "attrib", path: "h", isDir: false },
    { type: "change", path: "x.swp", isDir: false },
    { type: "rescan", path: "", isDir: true },
    { type: "modify", path: "log", isDir: false }, // sent once settled (settle.ts), not here
  ];
  expect(buildChanges(events, buildExcludeMatcher(["*.swp"]))).toEqual([
    { path: "f", tree: false, write: "open" },
    { path: "f", tree: false, write: "closed" },
    { path: "d", tree: true },
    { path: "old", tree: true, write: "open" }, // held until its move-to: see the batcher test
    { path: "new", tree: true },
    { path: "g", tree: false, write: "closed" },
    { path: "h", tree: false },
    { path: "", tree: true },
  ]);
});
