// The one retry policy of rtsync: exponential backoff, doubling from `initialMs` up to `maxMs`.
// Used for failed rsync runs, event-source restarts and (under the agent) process restarts.

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The wait before attempt `attempt + 1` (attempt 0 waits `initialMs`). Pure. */
export function backoffDelay(attempt: number, policy: Backoff): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt));
}
