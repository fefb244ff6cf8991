import { describe, expect, test } from "vitest";
import { parseBenchArgs } from "../../bench/args.ts";
import { parseDaemonSessions, sumReceived } from "../../bench/daemon-log.ts";
import { buildIncludeRules } from "../../bench/filter.ts";
import { parseItemize, renderVerify } from "../../bench/itemize.ts";
import { renderClassicScript } from "../../bench/peers/classic.ts";
import { parseStat } from "../../bench/proc.ts";
import { median, percentile, summarizeLatency } from "../../bench/stats.ts";
import { fileContent, filesInDir, planTree } from "../../bench/tree.ts";

// The benchmark's pure helpers. Nothing here is timed, and the benchmark itself never runs here.

describe("stats", () => {
  test("median and percentiles interpolate between ranks", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeUndefined();
    expect(percentile([1, 2, 3, 4, 5], 95)).toBeCloseTo(4.8);
    expect(percentile([7], 95)).toBe(7);
  });

  test("a latency sample that never arrived counts as infinitely late", () => {
    expect(summarizeLatency([0.1, 0.2, null])).toEqual({ p50: 0.2, p95: null, max: null, timeouts: 1 });
    expect(summarizeLatency([0.1, 0.3])).toEqual({ p50: 0.2, p95: expect.closeTo(0.29, 6), max: 0.3, timeouts: 0 });
  });
});

describe("parseBenchArgs", () => {
  test("defaults: 10k and 100k files, 3 runs, every tool and scenario", () => {
    const r = parseBenchArgs([], "/tmp");
    expect(r).toMatchObject({ ok: true, options: { sizes: [10_000, 100_000], runs: 3, idleSeconds: 30, dir: "/tmp" } });
  });

  test("--quick shrinks what was not given explicitly; --million adds a size; lists keep the canonical order", () => {
    const r = parseBenchArgs(["--quick", "--runs=2", "--million", "--tools", "classic,floor", "--scenarios", "burst,startup"], "/tmp");
    expect(r).toMatchObject({
      ok: true,
      options: { sizes: [2_000, 1_000_000], runs: 2, idleSeconds: 3, tools: ["floor", "classic"], scenarios: ["startup", "burst"] },
    });
  });

  test("unknown tools and bad numbers are one clear sentence", () => {
    expect(parseBenchArgs(["--tools", "rsync"], "/tmp")).toEqual({
      ok: false,
      error: "--tools: unknown rsync (known: rtsync-inotify, rtsync-inotifywait, rtsync-chokidar, floor, lsyncd0, lsyncd1, classic)",
    });
    expect(parseBenchArgs(["--runs", "zero"], "/tmp")).toEqual({ ok: false, error: '--runs needs a positive number, got "zero"' });
    expect(parseBenchArgs(["--runs"], "/tmp")).toEqual({ ok: false, error: "--runs needs a value" });
  });
});

describe("buildIncludeRules", () => {
  test("every parent, then the path; a tree gets ***; duplicates once", () => {
    expect(
      buildIncludeRules([
        { path: "g000/d01/f00.txt", kind: "file" },
        { path: "g000/d01/f01.txt", kind: "file" },
        { path: "g000/d50", kind: "tree" },
      ]),
    ).toEqual(["/g000/", "/g000/d01/", "/g000/d01/f00.txt", "/g000/d01/f01.txt", "/g000/d50/***"]);
  });

  test("glob characters are escaped only where the rule is a wildcard pattern", () => {
    expect(buildIncludeRules([{ path: "a\\b/c*d", kind: "file" }])).toEqual(["/a\\b/", "/a\\\\b/c\\*d"]);
    expect(buildIncludeRules([{ path: "x[1]", kind: "tree" }])).toEqual(["/x\\[1]/***"]);
  });
});

describe("parseItemize", () => {
  test("nothing printed means the replica equals the source", () => {
    expect(parseItemize("")).toEqual({ ok: true, missing: 0, extra: 0, content: 0, attrs: 0, sample: [] });
  });

  test("missing, extra, different content and attributes are told apart", () => {
    const out = [">f+++++++++ a", "cd+++++++++ dir/", "*deleting   old", ">fc........ b", ".d..t...... g000/", ".f...p..... c"].join("\n");
    const v = parseItemize(out);
    expect(v).toMatchObject({ ok: false, missing: 2, extra: 1, content: 1, attrs: 2 });
    expect(renderVerify(v)).toBe("2 missing, 1 extra, 1 differ, 2 attrs");
  });
});

describe("parseDaemonSessions", () => {
  test("one session per end-of-session line; the daemon's 'received' is what the client sent", () => {
    const log = [
      "2026/11/24 17:10:10 [9686] connect from localhost (127.0.0.1)",
      "2026/11/24 17:10:10 [9686] sent 43 bytes  received 149 bytes  total size 8",
      "2026/11/24 17:10:11 [9690] sent 10 bytes  received 5000 bytes  total size 4096",
    ].join("\n");
    const sessions = parseDaemonSessions(log);
    expect(sessions).toEqual([
      { pid: 9686, sent: 43, received: 149 },
      { pid: 9690, sent: 10, received: 5000 },
    ]);
    expect(sumReceived(sessions)).toBe(5149);
  });
});

describe("/proc parsing", () => {
  test("parseStat reads comm with spaces and parentheses, and the four CPU fields", () => {
    const text = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194304 100 0 0 0 17 5 3 2 20 0 1 0 100 1000 200";
    expect(parseStat(text)).toMatchObject({ pid: 1234, comm: "my (odd) name", state: "S", utime: 17, stime: 5, cutime: 3, cstime: 2 });
  });
});

describe("tree and classic loop", () => {
  test("planTree: ~100 files per directory, 100 directories per group", () => {
    const layout = planTree(10_050);
    expect(layout.dirs).toHaveLength(101);
    expect(layout.dirs.slice(0, 2)).toEqual(["g000/d00", "g000/d01"]);
    expect(layout.dirs[100]).toBe("g001/d00");
    expect(filesInDir(layout, 100)).toBe(50);
    expect(fileContent("g000/d00", 3)).toBe(fileContent("g000/d00", 3));
  });

  test("the classic loop is the recipe's, pointed at the bench daemon's port", () => {
    expect(renderClassicScript("/tmp/src", 8730, "/tmp/pw")).toBe(
      [
        "inotifywait -mrq -e close_write,delete,create,attrib '/tmp/src/' \\",
        "| while read file",
        "do",
        "cd '/tmp/src/' && rsync -aruz -R --delete ./ --timeout=100 --port=8730 bench@127.0.0.1::replica --password-file='/tmp/pw' >/dev/null 2>&1",
        "done",
      ].join("\n"),
    );
  });
});
