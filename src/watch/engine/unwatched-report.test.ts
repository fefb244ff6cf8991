import { expect, test } from "vitest";
import { buildExcludeMatcher } from "../batching/exclude-match.ts";
import type { WatchEvent } from "./events.ts";
import { makeUnwatchedReporter } from "./unwatched-report.ts";

const dir = (path: string, reason: "watch-limit" | "permission" = "permission") => ({ path, reason, since: 1 });

test("excluded directories are left out; nothing is said while nothing was ever unwatched; a failed source clears the set", () => {
  const events: WatchEvent[] = [];
  const r = makeUnwatchedReporter(buildExcludeMatcher(["cache"]), (e) => events.push(e));
  r.note([dir("a/cache")]);
  r.clear();
  expect(events).toEqual([]);
  r.note([dir("a/cache"), dir("b")]);
  expect(events).toMatchObject([{ type: "unwatched", dirs: [{ path: "b" }] }]);
  r.clear();
  expect(events.at(-1)).toMatchObject({ type: "unwatched", dirs: [] });
});

test("the watch limit comes with the value of fs.inotify.max_user_watches; only the newest report goes out", async () => {
  const events: WatchEvent[] = [];
  const r = makeUnwatchedReporter(buildExcludeMatcher([]), (e) => events.push(e));
  r.note([dir("a", "watch-limit")]);
  r.note([dir("a", "watch-limit"), dir("b", "watch-limit")]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: "unwatched", dirs: [{ path: "a" }, { path: "b" }], maxUserWatches: expect.any(Number) });
});
