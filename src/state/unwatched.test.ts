import { describe, expect, test } from "vitest";
import { pendingText, unwatchedProblem, type UnwatchedDir } from "./unwatched.ts";

const dir = (path: string, reason: UnwatchedDir["reason"] = "watch-limit"): UnwatchedDir => ({ path, reason, since: "2025-01-01T00:00:00.000Z" });

describe("unwatchedProblem", () => {
  test("nothing unwatched: no problem", () => {
    expect(unwatchedProblem({})).toBeUndefined();
    expect(unwatchedProblem({ unwatched: [], unwatchedCount: 0 })).toBeUndefined();
  });

  test("the watch limit: names the directories, the sysctl with its value, and what still happens", () => {
    expect(unwatchedProblem({ unwatched: [dir("many/d1"), dir("many/d2")], unwatchedCount: 2, maxUserWatches: 8192 })).toBe(
      "2 directories are not watched (many/d1, many/d2): the inotify watch limit (fs.inotify.max_user_watches = 8192) is reached; " +
        "raise it in the manifest's sysctl section. The rest replicates as changes happen; these are synced whole every 10 s (longer past 1,000 of them) and watched again once the kernel allows it",
    );
  });

  test("a capped list says how many more; each reason once", () => {
    const listed = [dir("a"), dir("b", "name-too-long"), dir("c"), dir("d", "permission"), dir("e"), dir("f")];
    const text = unwatchedProblem({ unwatched: listed, unwatchedCount: 180, maxUserWatches: null }) ?? "";
    expect(text).toMatch(/^180 directories are not watched \(a, b, c, d, e, and 175 more\): /);
    expect(text).toContain("(fs.inotify.max_user_watches) is reached");
    expect(text).toContain("longer than PATH_MAX");
    expect(text).toContain("may not be read (EACCES)");
    expect(text.match(/watch limit/g)).toHaveLength(1);
  });
});

test("pendingText: a count, or a count plus the unknown of the unwatched directories", () => {
  expect(pendingText(3, {})).toBe("3");
  expect(pendingText(3, { unwatched: [dir("a"), dir("b")], unwatchedCount: 2 })).toBe("3 + unknown in 2 unwatched directories");
  expect(pendingText(0, { unwatched: [dir("a")], unwatchedCount: 1 })).toBe("0 + unknown in 1 unwatched directory");
});
