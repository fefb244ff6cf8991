import { describe, expect, test } from "vitest";
import { renderLsyncdConfig } from "../../bench/peers/lsyncd.ts";
import { marginal, pooledLatency, renderFootprintTable, type FootprintRecord, type StoppedRecord } from "../../bench/targets-report.ts";

// bench/targets.ts's pure parts: the marginal cost of a target against a watch, pooled latency
// percentiles, and lsyncd's config with one sync{} per daemon. Nothing here is timed.

const stopped = (latency: (number | null)[]): StoppedRecord => ({ part: "stopped", size: 10, run: 1, tool: "rtsync-2", mode: "frozen", latency, verify: [], loadavg: [] });

const fp = (layout: "targets" | "watches", k: number, rssMiB: number): FootprintRecord => ({
  part: "footprint", size: 10, run: 1, layout, k, rssMiB, cpuSec: k, watcherCpuSec: k / 2, runs: 10 * k, files: 300, verify: [], loadavg: [0.5],
});

describe("bench targets", () => {
  test("marginal cost per extra target against per extra watch", () => {
    const m = marginal(50, 53, 200, 4);
    expect(m.perTarget).toBe(1);
    expect(m.perWatch).toBe(50);
    expect(m.ratio).toBeCloseTo(0.02);
    expect(Number.isNaN(marginal(50, 50, 50, 2).ratio)).toBe(true);
  });

  test("latency samples of the runs are pooled; a timeout is +∞", () => {
    const l = pooledLatency([stopped([0.01, 0.02]), stopped([0.03, null])]);
    expect(l.n).toBe(4);
    expect(l.timeouts).toBe(1);
    expect(l.p50).toBeCloseTo(0.025);
    expect(l.max).toBeNull();
    expect(pooledLatency([]).p50).toBeUndefined();
  });

  test("the footprint table measures 1 × 1 once for both layouts", () => {
    const table = renderFootprintTable([fp("targets", 1, 50), fp("targets", 2, 51), fp("watches", 2, 100)]);
    expect(table).toContain("| 10 | 1 × 2 | 51.0 |");
    expect(table).toContain("| 10 | 2 × 1 | 100.0 |");
    expect(table).toContain("| 10 | 2 | RSS | 1.0 MiB | 50.0 MiB | 0.020 |");
  });

  test("lsyncd: one sync{} per daemon, each with its own port", () => {
    const env = { source: "/src", replica: "/r", workDir: "/w", daemon: { port: 1, passwordFile: "/p1", logPath: "/l" } };
    const lua = renderLsyncdConfig(env, 0, [{ port: 1, passwordFile: "/p1" }, { port: 2, passwordFile: "/p2" }]);
    expect(lua.match(/sync \{/g)).toHaveLength(2);
    expect(lua).toContain('"--port=2"');
    expect(renderLsyncdConfig(env, 0).match(/sync \{/g)).toHaveLength(1);
  });
});
