// The default full-sync schedule (a watch without `fullSync.schedule`): full syncs spaced so that a
// divergence the events never saw is repaired within 15 minutes at any tree size, while full syncs
// cost at most 2 % of one core on average. The next interval is the last full sync's CPU time
// divided by that budget, kept between 5 and 15 minutes:
//
//   interval = clamp(cpuSeconds / 0.02, 5 min, 15 min)
//
// `cpuSeconds` is what both ends cost. Pushing to an rsync daemon, only our side (the sender) is
// measured; the receiver (generator + receiver, which stat every file) cost 1.9x the sender in
// bench/fullsync-cost.ts (2026-12-06: 1M files, 2.05 s sender, 3.82 s receiver), so both ends are
// taken as DAEMON_CPU_FACTOR x the sender. Until one full sync was measured, the longest interval
// applies. Measured: 1M files cost 5.9 CPU s per no-change full sync, every ~5 minutes: 1.8 %.
// Pure.

export const ADAPTIVE_CPU_SHARE = 0.02;
export const ADAPTIVE_MIN_MS = 5 * 60_000;
export const ADAPTIVE_MAX_MS = 15 * 60_000;
/** Both ends of a full sync to a daemon, as a multiple of the sender's CPU time (measured 2.9x). */
export const DAEMON_CPU_FACTOR = 3;

/** Milliseconds until the next full sync, after one that cost `cpuSeconds` (both ends) or was not measured. */
export function planAdaptiveInterval(cpuSeconds: number | undefined): number {
  if (cpuSeconds === undefined || !Number.isFinite(cpuSeconds)) return ADAPTIVE_MAX_MS;
  return Math.min(ADAPTIVE_MAX_MS, Math.max(ADAPTIVE_MIN_MS, Math.round((cpuSeconds / ADAPTIVE_CPU_SHARE) * 1000)));
}
