import { backoffDelay, type Backoff } from "../core/backoff.ts";

// When the agent may start a daemon or watcher again after it died. Pure.
//
// A process that ran at least `stableMs` before it died is started again at once. One that died
// sooner (or whose start failed) is held back: 1 s after the first such death, then 2 s, 4 s, …
// up to 5 min; after `crashLoopAfter` of them in a row it is reported as crash-looping. Running
// `stableMs` again ends the streak, and so does a start that is not a restart (a new spec).
//
//   running --died after >= stableMs--> restart now --> running
//   running --died sooner / start failed--> held (1 s, 2 s, 4 s … 5 min) --hold over--> restart

export interface RestartPolicy {
  /** A process that ran this long was not crash-looping: its death restarts it at once. */
  readonly stableMs: number;
  readonly backoff: Backoff;
  /** Quick deaths in a row that make a process crash-looping. */
  readonly crashLoopAfter: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { stableMs: 10_000, backoff: { initialMs: 1000, maxMs: 300_000 }, crashLoopAfter: 2 };

export interface RestartTrack {
  /** Deaths in a row, each soon after its start (a failed start counts). */
  readonly deaths: number;
  /** Not started again before this time (ms). */
  readonly holdUntil: number | undefined;
  /** When the agent last started it (ms). */
  readonly lastStartAt: number | undefined;
  /** It died and has not been started again yet. */
  readonly dead: boolean;
  /** Starts after a death, since the agent started. */
  readonly restarts: number;
}

export const FRESH_TRACK: RestartTrack = { deaths: 0, holdUntil: undefined, lastStartAt: undefined, dead: false, restarts: 0 };

/** After a death: the new track and how long to wait before starting it again (0: at once). */
export function planRestart(track: RestartTrack, ranMs: number, now: number, policy: RestartPolicy): { readonly track: RestartTrack; readonly delayMs: number } {
  const deaths = ranMs < policy.stableMs ? track.deaths + 1 : 0;
  const delayMs = deaths === 0 ? 0 : backoffDelay(deaths - 1, policy.backoff);
  return { track: { ...track, deaths, dead: true, holdUntil: delayMs > 0 ? now + delayMs : undefined }, delayMs };
}

/**
 * After the agent started it: a restart when it had died (the streak goes on), else a start of
 * its own (a new spec, a new manifest), which begins a new streak.
 */
export function noteStarted(track: RestartTrack, now: number): RestartTrack {
  return { ...track, lastStartAt: now, dead: false, holdUntil: undefined, restarts: track.restarts + (track.dead ? 1 : 0), deaths: track.dead ? track.deaths : 0 };
}

/** Crash-looping: enough quick deaths in a row, and not yet running stably since. */
export function isCrashLooping(track: RestartTrack, now: number, policy: RestartPolicy): boolean {
  if (track.deaths < policy.crashLoopAfter) return false;
  return track.dead || track.lastStartAt === undefined || now - track.lastStartAt < policy.stableMs;
}
