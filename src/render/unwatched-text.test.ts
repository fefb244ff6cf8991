import { expect, test } from "vitest";
import { unwatchedLines } from "./unwatched-text.ts";

const since = "2025-01-01T00:00:00.000Z";
const ago = () => "12s ago";

test("status names the unwatched directories, their reason and age, capped with a count", () => {
  expect(unwatchedLines({}, ago)).toEqual([]);
  expect(unwatchedLines({ unwatched: [{ path: "a/b", reason: "watch-limit", since }], unwatchedCount: 1 }, ago)).toEqual([
    "unwatched: 1 directory, synced whole every 10 s: a/b (watch-limit, since 12s ago)",
  ]);
  const many = Array.from({ length: 20 }, (_, i) => ({ path: `d${i}`, reason: "watch-limit" as const, since }));
  expect(unwatchedLines({ unwatched: many, unwatchedCount: 177 }, ago)[0]).toMatch(/^unwatched: 177 directories, synced whole every 10 s: d0 \(.*\), d4 \(watch-limit, since 12s ago\), and 172 more$/);
});
