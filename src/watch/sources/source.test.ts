import { expect, test } from "vitest";
import { pickWatcher, watchLimitMessage } from "./source.ts";

test("auto picks inotifywait on Linux when it is installed, chokidar otherwise; explicit choices stand", () => {
  expect(pickWatcher("auto", "linux", true)).toBe("inotifywait");
  expect(pickWatcher("auto", "linux", false)).toBe("chokidar");
  expect(pickWatcher("auto", "darwin", true)).toBe("chokidar");
  expect(pickWatcher("poll", "linux", true)).toBe("poll");
  expect(pickWatcher("chokidar", "linux", true)).toBe("chokidar");
});

test("the watch-limit message names the sysctl even when the numbers are unknown", () => {
  expect(watchLimitMessage("/data", undefined, undefined)).toBe(
    "cannot watch /data: the tree needs one inotify watch per directory; raise the sysctl fs.inotify.max_user_watches " +
      "(manifest key sysctl: fs.inotify.max_user_watches, or sysctl -w fs.inotify.max_user_watches=N)",
  );
});
