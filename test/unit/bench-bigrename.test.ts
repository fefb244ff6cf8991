import { describe, expect, test } from "vitest";
import { parseBenchArgs } from "../../bench/args.ts";
import { BIG_FILE_BYTES, BIG_FILES, percentOf } from "../../bench/scenarios.ts";
import { METRICS, formatValue, renderTable } from "../../bench/table.ts";
import { DEFAULT_SCENARIOS, type RunRecord, type ScenarioOutcome, type ToolName } from "../../bench/types.ts";

// The bigrename scenario's pure parts (the 100 MiB rename itself only runs in `npm run bench`).

const ok = { ok: true, missing: 0, extra: 0, content: 0, attrs: 0, sample: [] } as const;

describe("bigrename selection", () => {
  test("opt-in: not in the default scenarios, accepted by --scenarios and run before burst", () => {
    expect(DEFAULT_SCENARIOS).not.toContain("bigrename");
    const defaults = parseBenchArgs([], "/tmp");
    expect(defaults.ok && defaults.options.scenarios).toEqual(["startup", "idle", "latency", "delete-rename", "burst"]);
    const chosen = parseBenchArgs(["--scenarios", "burst,bigrename"], "/tmp");
    expect(chosen.ok && chosen.options.scenarios).toEqual(["bigrename", "burst"]);
  });

  test("the directory is 100 MiB and the percentage is of its bytes", () => {
    expect(BIG_FILES * BIG_FILE_BYTES).toBe(100 * 1024 * 1024);
    expect(percentOf(102_400, BIG_FILES * BIG_FILE_BYTES)).toBeCloseTo(100);
    expect(percentOf(2, BIG_FILES * BIG_FILE_BYTES)).toBeCloseTo(0.00195, 5);
  });
});

describe("table", () => {
  test("percentages keep two significant digits below 10 %", () => {
    expect(formatValue(0.0019187, "%")).toBe("0.0019 %");
    expect(formatValue(1.234, "%")).toBe("1.2 %");
    expect(formatValue(100.03, "%")).toBe("100.0 %");
    expect(formatValue(0, "%")).toBe("0 %");
  });

  test("the bigrename rows, with the floor's ratio on time and bytes only", () => {
    const big = (convergeSec: number, runs: number, sentKiB: number): ScenarioOutcome => ({
      metrics: { convergeSec, runs, sentKiB, sentPct: percentOf(sentKiB, BIG_FILES * BIG_FILE_BYTES) },
      verify: ok,
    });
    const rec = (tool: ToolName, o: ScenarioOutcome): RunRecord => ({ tool, size: 10_000, run: 1, scenarios: { bigrename: o } });
    const records = [rec("rtsync-inotifywait", big(0.2, 2, 2)), rec("floor", big(0.4, 1, 102_400))];
    expect(METRICS.filter((m) => m.scenario === "bigrename").map((m) => m.key)).toEqual(["convergeSec", "runs", "sentKiB", "sentPct"]);
    expect(renderTable(records, [10_000], ["rtsync-inotifywait", "floor"])).toBe(
      [
        "| files | metric | rtsync-inotifywait | floor |",
        "|---|---|---|---|",
        "| 10,000 | 100 MiB dir rename: → converged (s) | 0.200 (0.50×F) | 0.400 |",
        "| 10,000 | 100 MiB dir rename: rsync runs | 2 | 1 |",
        "| 10,000 | 100 MiB dir rename: sent (KiB) | 2 (0.00×F) | 102,400 |",
        "| 10,000 | 100 MiB dir rename: sent, % of the directory | 0.0020 % | 100.0 % |",
        "| 10,000 | replica = source after every scenario | ok (1 checks) | ok (1 checks) |",
      ].join("\n"),
    );
  });
});
