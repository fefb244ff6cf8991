import { expect, test } from "vitest";
import { WATCHER_NODE_FLAGS, watcherNodeFlags } from "./node-flags.ts";

test("the lean V8 flags go to inotify and inotifywait watchers, not to chokidar ones (its scan is JavaScript)", () => {
  expect(watcherNodeFlags("auto")).toEqual(WATCHER_NODE_FLAGS);
  expect(watcherNodeFlags("inotify")).toEqual(WATCHER_NODE_FLAGS);
  expect(watcherNodeFlags("inotifywait")).toContain("--lite-mode");
  expect(watcherNodeFlags("chokidar")).toEqual([]);
  expect(watcherNodeFlags("poll")).toEqual([]);
});
