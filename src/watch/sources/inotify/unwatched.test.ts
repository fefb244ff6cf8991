import { expect, test } from "vitest";
import { ERRNO } from "./kernel.ts";
import { UnwatchedSet, unwatchedReasonOf, unwatchedRetryMs } from "./unwatched.ts";

test("the reason of each errno", () => {
  expect(unwatchedReasonOf(ERRNO.ENOSPC)).toBe("watch-limit");
  expect(unwatchedReasonOf(ERRNO.ENAMETOOLONG)).toBe("name-too-long");
  expect(unwatchedReasonOf(ERRNO.EACCES)).toBe("permission");
});

test("a directory refused again keeps its since; changes are flagged until reported", () => {
  const set = new UnwatchedSet();
  set.add({ parent: 1, name: "a", errno: ERRNO.ENOSPC }, 100);
  expect(set.changed).toBe(true);
  set.changed = false;
  set.add({ parent: 1, name: "a", errno: ERRNO.ENOSPC }, 200);
  expect(set.changed).toBe(false);
  expect(set.list()).toEqual([{ parent: 1, name: "a", reason: "watch-limit", since: 100 }]);
  set.drop(1, "b");
  expect(set.changed).toBe(false);
  set.drop(1, "a");
  expect(set.changed).toBe(true);
  expect(set.size).toBe(0);
});

test("retry schedule: every 10 s, 10 s more per further 1,000 directories, at most 10 min", () => {
  expect(unwatchedRetryMs(1)).toBe(10_000);
  expect(unwatchedRetryMs(1000)).toBe(10_000);
  expect(unwatchedRetryMs(1001)).toBe(20_000);
  expect(unwatchedRetryMs(20_000)).toBe(200_000);
  expect(unwatchedRetryMs(1_000_000)).toBe(600_000);
});
