import { backoffDelay, type Backoff } from "../core/backoff.ts";
import { FRESH_TRACK, isCrashLooping, noteStarted, planRestart, type RestartPolicy, type RestartTrack } from "./restarts.ts";

// What `rtsync agent` does next, given what happened. Pure: time comes in with every input, and
// the wiring (run.ts) carries out the actions and feeds the results back. One reconcile at a
// time; whatever asks for one while one runs is queued and served right after it.
//
//              start | trigger | tick | fetched | death | hold over | retry due
//     idle ------------------------------------------------------------------> reconciling
//      ^                                                                          |
//      +--------- reconciled / reconcile-failed (queued reasons: reconcile again) -+
//
//     stop: idle -> exit;  reconciling -> stopping --reconciled--> exit
//
// Under --git the tick fetches first; what the fetch finds (moved or not) then reconciles.

export interface AgentPolicy {
  /** --interval: drift repair (and, with --git, the fetch) every this many ms. */
  readonly intervalMs: number;
  /** --git: ticks fetch before they reconcile. */
  readonly git: boolean;
  readonly restart: RestartPolicy;
  /** Waits after reconciles that failed (not counting processes held back): 1 s doubling to 5 min. */
  readonly retry: Backoff;
}

export interface AgentState {
  readonly phase: "idle" | "reconciling" | "stopping";
  /** Why the next reconcile runs (it runs as soon as the current one ends). */
  readonly queued: readonly string[];
  readonly fetching: boolean;
  readonly fetchQueued: boolean;
  /** The newest commit fetched (--git). */
  readonly commit: string | undefined;
  /** Restart bookkeeping per resource id (`watcher:NAME`, `daemon:NAME`). */
  readonly tracks: ReadonlyMap<string, RestartTrack>;
  /** Reconciles in a row that failed (a change failed, or the reconcile itself). */
  readonly failures: number;
  readonly retryAt: number | undefined;
  readonly nextTickAt: number;
}

export type AgentInput =
  | { readonly type: "start"; readonly now: number; readonly commit?: string }
  /** The manifest or a password file changed, SIGHUP; `fetch` fetches first too (--git). */
  | { readonly type: "trigger"; readonly reason: string; readonly fetch: boolean; readonly now: number }
  /** A time the agent asked for (`wakeAt`) has come. */
  | { readonly type: "wake"; readonly now: number }
  | { readonly type: "fetched"; readonly commit: string; readonly now: number }
  | { readonly type: "fetch-failed"; readonly message: string; readonly now: number }
  /** A daemon or watcher of the inventory is gone; `startedAt` is when it was started (ms). */
  | { readonly type: "process-died"; readonly id: string; readonly pid: number; readonly startedAt: number; readonly now: number }
  /** A reconcile ran: what it started, whose start failed, how many other changes failed. */
  | { readonly type: "reconciled"; readonly started: readonly string[]; readonly failedStarts: readonly string[]; readonly failed: number; readonly now: number }
  /** A reconcile could not run at all (the lock, a state file, rsync missing, …). */
  | { readonly type: "reconcile-failed"; readonly message: string; readonly now: number }
  | { readonly type: "stop"; readonly now: number };

export type AgentAction =
  | { readonly type: "reconcile"; readonly reasons: readonly string[]; readonly hold: readonly string[]; readonly commit: string | undefined }
  | { readonly type: "fetch" }
  | { readonly type: "log"; readonly level: "info" | "warn"; readonly msg: string; readonly resource?: string }
  | { readonly type: "exit" };

export interface AgentStep {
  readonly state: AgentState;
  readonly actions: readonly AgentAction[];
  /** When to send the next `wake` (the earliest tick, hold or retry). */
  readonly wakeAt: number;
}

export function initialAgentState(now: number, policy: AgentPolicy): AgentState {
  return { phase: "idle", queued: [], fetching: false, fetchQueued: false, commit: undefined, tracks: new Map(), failures: 0, retryAt: undefined, nextTickAt: now + policy.intervalMs };
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

// Resources not to start in this reconcile: held back until their backoff is over.
function heldIds(s: AgentState, now: number): string[] {
  return [...s.tracks].filter(([, t]) => t.holdUntil !== undefined && t.holdUntil > now).map(([id]) => id);
}

interface Draft {
  state: AgentState;
  actions: AgentAction[];
}

// Runs a reconcile now, or queues the reason when one runs (or a failed one waits for its retry).
function request(d: Draft, reason: string, now: number, force = false): void {
  const s = d.state;
  if (s.phase === "stopping") return;
  const waiting = s.retryAt !== undefined && s.retryAt > now && !force;
  if (s.phase === "reconciling" || waiting) {
    if (!s.queued.includes(reason)) d.state = { ...s, queued: [...s.queued, reason] };
    return;
  }
  const reasons = [...s.queued.filter((r) => r !== reason), reason];
  d.state = { ...s, phase: "reconciling", queued: [], retryAt: undefined };
  d.actions.push({ type: "reconcile", reasons, hold: heldIds(s, now), commit: s.commit });
}

function fetch(d: Draft): void {
  if (d.state.phase === "stopping") return;
  if (d.state.fetching) d.state = { ...d.state, fetchQueued: true };
  else {
    d.state = { ...d.state, fetching: true };
    d.actions.push({ type: "fetch" });
  }
}

function setTrack(d: Draft, id: string, track: RestartTrack): void {
  const tracks = new Map(d.state.tracks);
  tracks.set(id, track);
  d.state = { ...d.state, tracks };
}

// The end of a reconcile: serve what was queued, or exit when stopping.
function finish(d: Draft, now: number): void {
  if (d.state.phase === "stopping") {
    d.actions.push({ type: "exit" });
    return;
  }
  const queued = d.state.queued;
  d.state = { ...d.state, phase: "idle", queued: [] };
  if (queued.length === 0) return;
  d.state = { ...d.state, queued: queued.slice(0, -1) };
  // Served at once even after failures: what was queued came from outside (an edit, a death).
  request(d, queued[queued.length - 1] ?? "queued", now, true);
}

function failed(d: Draft, now: number, policy: AgentPolicy): number {
  const failures = d.state.failures + 1;
  const wait = backoffDelay(failures - 1, policy.retry);
  d.state = { ...d.state, failures, retryAt: now + wait };
  return wait;
}

function onWake(d: Draft, now: number, policy: AgentPolicy): void {
  const reasons: string[] = [];
  let force = false;
  const over = [...d.state.tracks].filter(([, t]) => t.holdUntil !== undefined && t.holdUntil <= now);
  for (const [id, t] of over) setTrack(d, id, { ...t, holdUntil: undefined });
  if (over.length > 0) {
    reasons.push(`backoff over: start ${over.map(([id]) => id).join(", ")}`);
    force = true;
  }
  if (d.state.retryAt !== undefined && d.state.retryAt <= now) {
    d.state = { ...d.state, retryAt: undefined };
    reasons.push("retry");
  }
  if (now >= d.state.nextTickAt) {
    d.state = { ...d.state, nextTickAt: now + policy.intervalMs };
    if (policy.git) fetch(d);
    else reasons.push("interval");
  }
  // One reconcile for everything that came due at once.
  for (const reason of reasons.slice(0, -1)) if (!d.state.queued.includes(reason)) d.state = { ...d.state, queued: [...d.state.queued, reason] };
  const last = reasons.at(-1);
  if (last !== undefined) request(d, last, now, force);
}

/** One input in, the new state and what to do out. */
export function stepAgent(state: AgentState, input: AgentInput, policy: AgentPolicy): AgentStep {
  const d: Draft = { state, actions: [] };
  const now = input.now;
  switch (input.type) {
    case "start":
      d.state = { ...d.state, commit: input.commit, nextTickAt: now + policy.intervalMs };
      request(d, "start", now);
      break;
    case "trigger":
      if (input.fetch) fetch(d);
      request(d, input.reason, now, true);
      break;
    case "wake":
      onWake(d, now, policy);
      break;
    case "fetched": {
      const moved = input.commit !== d.state.commit;
      d.state = { ...d.state, fetching: false, commit: input.commit };
      if (moved) d.actions.push({ type: "log", level: "info", msg: `git: the ref moved to ${input.commit}` });
      request(d, moved ? `git: moved to ${input.commit.slice(0, 12)}` : "interval", now, moved);
      if (d.state.fetchQueued) {
        d.state = { ...d.state, fetchQueued: false };
        fetch(d);
      }
      break;
    }
    case "fetch-failed":
      d.state = { ...d.state, fetching: false, fetchQueued: false };
      d.actions.push({ type: "log", level: "warn", msg: `git: fetch failed, keeping the checkout as it is: ${input.message}` });
      request(d, "interval", now);
      break;
    case "process-died": {
      const ranMs = Math.max(0, now - input.startedAt);
      const { track, delayMs } = planRestart(d.state.tracks.get(input.id) ?? FRESH_TRACK, ranMs, now, policy.restart);
      setTrack(d, input.id, track);
      const looping = isCrashLooping(track, now, policy.restart) ? ` (crash-looping: ${track.deaths} deaths in a row, each soon after its start)` : "";
      const when = delayMs === 0 ? "starting it again" : `starting it again in ${seconds(delayMs)}${looping}`;
      d.actions.push({ type: "log", level: "warn", resource: input.id, msg: `${input.id} died (pid ${input.pid}, ran ${seconds(ranMs)}); ${when}` });
      if (delayMs === 0) request(d, `${input.id} died`, now, true);
      break;
    }
    case "reconciled": {
      for (const id of input.started) setTrack(d, id, noteStarted(d.state.tracks.get(id) ?? FRESH_TRACK, now));
      for (const id of input.failedStarts) {
        const { track, delayMs } = planRestart(d.state.tracks.get(id) ?? FRESH_TRACK, 0, now, policy.restart);
        setTrack(d, id, track);
        const looping = isCrashLooping(track, now, policy.restart) ? ` (crash-looping: ${track.deaths} failures in a row)` : "";
        d.actions.push({ type: "log", level: "warn", resource: id, msg: `${id} could not be started; next attempt in ${seconds(delayMs)}${looping}` });
      }
      if (input.failed > 0) {
        const wait = failed(d, now, policy);
        d.actions.push({ type: "log", level: "warn", msg: `${input.failed} change(s) failed; reconciling again in ${seconds(wait)}` });
      } else d.state = { ...d.state, failures: 0, retryAt: undefined };
      finish(d, now);
      break;
    }
    case "reconcile-failed": {
      const wait = failed(d, now, policy);
      d.actions.push({ type: "log", level: "warn", msg: `reconcile failed: ${input.message}; trying again in ${seconds(wait)}` });
      if (d.state.phase === "stopping") d.actions.push({ type: "exit" });
      else d.state = { ...d.state, phase: "idle" };
      break;
    }
    case "stop":
      if (d.state.phase === "reconciling") d.state = { ...d.state, phase: "stopping" };
      else if (d.state.phase === "idle") d.actions.push({ type: "exit" });
      break;
  }
  return { state: d.state, actions: d.actions, wakeAt: nextWake(d.state) };
}

function nextWake(s: AgentState): number {
  const times = [s.nextTickAt, ...(s.retryAt === undefined ? [] : [s.retryAt]), ...[...s.tracks.values()].flatMap((t) => (t.holdUntil === undefined ? [] : [t.holdUntil]))];
  return Math.min(...times);
}

/** The daemons and watchers crash-looping now, for health and metrics. */
export function crashLooping(s: AgentState, now: number, policy: AgentPolicy): Array<{ id: string; deaths: number; nextRestartAt: number | undefined }> {
  return [...s.tracks]
    .filter(([, t]) => isCrashLooping(t, now, policy.restart))
    .map(([id, t]) => ({ id, deaths: t.deaths, nextRestartAt: t.holdUntil }));
}
