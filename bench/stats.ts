// Pure statistics for the benchmark: medians of runs and percentiles of latency samples.

/** Linear-interpolated percentile (p in 0..100) of the values; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  if (lo === hi || a === b) return a;
  return a + (b - a) * (rank - lo);
}

export function median(values: readonly number[]): number | undefined {
  return percentile(values, 50);
}

/** p50/p95/max of samples where null means "never arrived" (counted as +Infinity). */
export function summarizeLatency(samples: readonly (number | null)[]): {
  p50: number | null;
  p95: number | null;
  max: number | null;
  timeouts: number;
} {
  const values = samples.map((s) => (s === null ? Number.POSITIVE_INFINITY : s));
  const finite = (x: number | undefined): number | null => (x === undefined || !Number.isFinite(x) ? null : x);
  return {
    p50: finite(percentile(values, 50)),
    p95: finite(percentile(values, 95)),
    max: finite(values.length === 0 ? undefined : Math.max(...values)),
    timeouts: samples.filter((s) => s === null).length,
  };
}
