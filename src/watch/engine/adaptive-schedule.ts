// The default full-sync schedule (a watch without `fullSync.schedule`): full syncs spaced so that a
// divergence the events never saw is repaired within 15 minutes at any tree size, while full syncs
// cost at most 2 % of one core on average. The next interval is the last full sync's CPU time
// divided by that budget, kept between 5 and 15 minutes:
//
//   interval = clamp(cpuSeconds / 0.02, 5 min, 15 min)
//
// A no-change full sync costs about as much CPU on the receiving side (its generator stats every
// file) as on ours: `cpuSeconds` is what both ends cost (bench/fullsync-cost.ts measures both).
// Until one full sync was measured, the longest interval applies. Pure.

export const ADAPTIVE_CPU_SHARE = 0.02;
export const ADAPTIVE_MIN_MS = 5 * 60_000;
export const ADAPTIVE_MAX_MS = 15 * 60_000;

/** Milliseconds until the next full sync, after one that cost `cpuSeconds` (both ends) or was not measured. */
export function planAdaptiveInterval(cpuSeconds: number | undefined): number {
  if (cpuSeconds === undefined || !Number.isFinite(cpuSeconds)) return ADAPTIVE_MAX_MS;
  return Math.min(ADAPTIVE_MAX_MS, Math.max(ADAPTIVE_MIN_MS, Math.round((cpuSeconds / ADAPTIVE_CPU_SHARE) * 1000)));
}
