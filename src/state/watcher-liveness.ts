import type { WatcherStatusDoc } from "./watcher-status.ts";

// Is a running watcher alive, or only its pid? The watcher rewrites `heartbeatAt` in its status
// document every second while its event loop runs; a heartbeat older than a few seconds means it
// does not respond (SIGSTOP, a stuck event loop, a disk that takes no writes), and after a grace
// the agent replaces it. One question, one function: `rtsync status`, /healthz, the metrics and
// the agent's replacement all ask this one. Pure: the time comes in.
//
//   beating --heartbeat older than notRespondingMs--> not responding (Degraded, up 0)
//      ^                                                  | older than replaceAfterMs
//      +---------------- a new heartbeat -----------------+--> the agent replaces it (SIGKILL + start)

/** How often the watcher writes its heartbeat. */
export const HEARTBEAT_EVERY_MS = 1000;
/** How often the watch host beats for all its jobs: every 2 s keeps 2.5 beats within notRespondingMs and halves the wake-ups of a host at rest. */
export const HOST_HEARTBEAT_EVERY_MS = 2000;

export interface LivenessPolicy {
  /** A heartbeat older than this: not responding. */
  readonly notRespondingMs: number;
  /** Not responding this long: the agent kills it and starts it again. */
  readonly replaceAfterMs: number;
}

export const DEFAULT_LIVENESS: LivenessPolicy = { notRespondingMs: 5000, replaceAfterMs: 30_000 };

export type WatcherLiveness =
  | { readonly responding: true }
  | {
      readonly responding: false;
      /** Its last heartbeat (ISO). */
      readonly since: string;
      readonly silentMs: number;
      /** Silent long enough to be replaced. */
      readonly replace: boolean;
    };

/** The liveness of a watcher that runs, from its status document. A document without a heartbeat (an older watcher) or none at all says nothing: responding. */
export function assessWatcherLiveness(report: Pick<WatcherStatusDoc, "heartbeatAt"> | undefined, now: number, policy: LivenessPolicy = DEFAULT_LIVENESS): WatcherLiveness {
  const beat = report?.heartbeatAt;
  if (beat === undefined || beat === null) return { responding: true };
  const at = Date.parse(beat);
  if (!Number.isFinite(at)) return { responding: true };
  const silentMs = now - at;
  if (silentMs <= policy.notRespondingMs) return { responding: true };
  return { responding: false, since: beat, silentMs, replace: silentMs >= policy.replaceAfterMs };
}

/** The operator's sentence for a watcher that does not respond. Pure. */
export function notRespondingMessage(l: Extract<WatcherLiveness, { responding: false }>, policy: LivenessPolicy = DEFAULT_LIVENESS): string {
  const silent = Math.round(l.silentMs / 1000);
  const next = l.replace ? "the agent replaces it (SIGKILL and a new watcher with a full sync)" : `the agent replaces it after ${Math.round(policy.replaceAfterMs / 1000)} s without one`;
  return `not responding since ${l.since}: no heartbeat for ${silent} s (the process is stopped or stuck); ${next}`;
}
