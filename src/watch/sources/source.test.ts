import { expect, test } from "vitest";
import { dropRepeatedModifies, planWatcher, watchLimitMessage, type SourceEvent, type WatcherAvailability } from "./source.ts";

test("auto picks rtsync's inotify on Linux, inotifywait where the addon did not build, chokidar otherwise; explicit choices stand", () => {
  const built: WatcherAvailability = { platform: "linux", addon: { ok: true }, inotifywaitInstalled: true };
  const noAddon: WatcherAvailability = { ...built, addon: { ok: false, reason: "node-gyp rebuild failed: gcc: not found" } };
  expect(planWatcher("auto", built)).toEqual({ source: "inotify", why: "auto: rtsync's inotify addon is built" });
  expect(planWatcher("auto", noAddon)).toEqual({
    source: "inotifywait",
    why: "auto: the inotify addon did not build (node-gyp rebuild failed: gcc: not found); inotifywait is installed",
  });
  expect(planWatcher("auto", { ...noAddon, inotifywaitInstalled: false })).toEqual({
    source: "chokidar",
    why: "auto: the inotify addon did not build (node-gyp rebuild failed: gcc: not found) and inotifywait is not installed",
  });
  expect(planWatcher("auto", { ...built, platform: "darwin" })).toEqual({ source: "chokidar", why: "auto: inotify is Linux-only (this is darwin)" });
  expect(planWatcher("poll", built)).toEqual({ source: "poll", why: "watcher: poll in the manifest" });
  expect(planWatcher("inotifywait", built).source).toBe("inotifywait");
  expect(planWatcher("inotify", noAddon).source).toBe("inotify"); // loading it then says why it cannot run
});

test("the watch-limit message names the sysctl even when the numbers are unknown", () => {
  expect(watchLimitMessage("/data", undefined, undefined)).toBe(
    "cannot watch /data: the tree needs one inotify watch per directory; raise the sysctl fs.inotify.max_user_watches " +
      "(manifest key sysctl: fs.inotify.max_user_watches, or sysctl -w fs.inotify.max_user_watches=N)",
  );
});

test("a path's repeated modify is dropped until another event names it; the first of each run stays", () => {
  const ev = (type: SourceEvent["type"], path: string, from?: string): SourceEvent => ({ type, path, isDir: false, ...(from === undefined ? {} : { from }) });
  const events = [
    ev("modify", "a"),
    ev("modify", "b"),
    ev("modify", "a"),
    ev("modify", "a"),
    ev("change", "a"), // closed: a write after it is news again
    ev("modify", "a"),
    ev("move-to", "c", "b"),
    ev("modify", "b"),
    ev("modify", "b"),
  ];
  expect(dropRepeatedModifies(events).map((e) => `${e.type} ${e.path}`)).toEqual(["modify a", "modify b", "change a", "modify a", "move-to c", "modify b"]);
  const none = [ev("modify", "a"), ev("change", "a"), ev("modify", "a")];
  expect(dropRepeatedModifies(none)).toBe(none); // nothing repeats: not even copied
});
