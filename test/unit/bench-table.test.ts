import { describe, expect, test } from "vitest";
import { METRICS, aggregate, renderCell, renderTable } from "../../bench/table.ts";
import type { RunRecord, ScenarioOutcome, ToolName } from "../../bench/types.ts";

// The results table: medians over runs, ratios to the floor (F) and the classic loop (C), and a
// replica that differs from the source shown as DATA LOSS instead of a time.

const ok = { ok: true, missing: 0, extra: 0, content: 0, attrs: 0, sample: [] } as const;
const latency = (p50: number | null): ScenarioOutcome => ({ metrics: { p50, p95: p50, max: p50 }, verify: ok });
const rec = (tool: ToolName, run: number, scenarios: RunRecord["scenarios"]): RunRecord => ({ tool, size: 10_000, run, scenarios });
const p50 = METRICS.find((m) => m.scenario === "latency" && m.key === "p50")!;

describe("aggregate", () => {
  test("the median of the runs; a run that never converged counts as infinitely slow", () => {
    const records = [rec("classic", 1, { latency: latency(0.3) }), rec("classic", 2, { latency: latency(0.1) }), rec("classic", 3, { latency: latency(null) })];
    expect(aggregate(records, "classic", 10_000, p50)).toMatchObject({ value: 0.3, runs: 3, loss: undefined });
    expect(aggregate(records.slice(2), "classic", 10_000, p50).value).toBeNull();
  });
});

describe("renderCell", () => {
  test("value with ratios to the floor and the classic loop", () => {
    const floor = { value: 0.05, lowerBound: false, loss: undefined, error: undefined, runs: 3 };
    const classic = { value: 0.2, lowerBound: false, loss: undefined, error: undefined, runs: 3 };
    const cell = { value: 0.06, lowerBound: false, loss: undefined, error: undefined, runs: 3 };
    expect(renderCell(cell, p50, "lsyncd0", floor, classic)).toBe("0.060 (1.20×F, 0.30×C)");
    expect(renderCell(floor, p50, "floor", floor, classic)).toBe("0.050 (0.25×C)");
    expect(renderCell({ ...cell, loss: "3 missing" }, p50, "lsyncd0", floor, classic)).toBe("DATA LOSS (3 missing)");
    expect(renderCell({ ...cell, value: null }, p50, "lsyncd0", floor, classic)).toBe("never");
  });
});

describe("renderTable", () => {
  test("one row per metric that has data, and the verification row", () => {
    const records = [
      rec("floor", 1, { latency: latency(0.05) }),
      rec("classic", 1, { latency: latency(0.2) }),
      rec("lsyncd0", 1, { latency: { ...latency(0.09), verify: { ...ok, ok: false, missing: 2, sample: [">f+++++++++ a"] } } }),
    ];
    expect(renderTable(records, [10_000], ["floor", "lsyncd0", "classic"])).toBe(
      [
        "| files | metric | floor | lsyncd0 | classic |",
        "|---|---|---|---|---|",
        "| 10,000 | latency p50: close → on replica (s) | 0.050 (0.25×C) | DATA LOSS (2 missing) | 0.200 (4.00×F) |",
        "| 10,000 | latency p95 (s) | 0.050 (0.25×C) | DATA LOSS (2 missing) | 0.200 (4.00×F) |",
        "| 10,000 | latency max (s) | 0.050 (0.25×C) | DATA LOSS (2 missing) | 0.200 (4.00×F) |",
        "| 10,000 | replica = source after every scenario | ok (1 checks) | DATA LOSS in latency | ok (1 checks) |",
      ].join("\n"),
    );
  });
});
