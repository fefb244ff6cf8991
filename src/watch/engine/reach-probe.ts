// Reachability probing: after a run that could not connect, while the lane backs off, ask every
// `everyMs` whether the target accepts a connection again (a daemon's TCP port), and retry at once
// when it does, so a target that comes back is caught up within a second, not at the next retry of
// a backoff grown to 30 s. A probe said yes and the retry still could not connect (a proxy,
// another address): the probe does not see what rsync sees, so the backoff alone decides until a
// run succeeds.
//
//   run-done (unreachable, backing off) --> probing --no--> probing (again in everyMs)
//        ^                                     | yes
//        +------ retry (the lane's flush) <----+      retry unreachable too: misled (no probing until a run succeeds)
//
// `stepReachProbe` decides (pure); `startReachProbe` owns the timer and the probe in flight.

export interface ReachProbeState {
  /** The last retry came from a probe that said yes. */
  readonly retried: boolean;
  /** A probe said yes and its retry could not connect: no probing until a run succeeds. */
  readonly misled: boolean;
}

export const FRESH_PROBE: ReachProbeState = { retried: false, misled: false };

export type ReachProbeInput =
  /** A run ended: could it connect, did it succeed, is the lane backing off now. */
  | { readonly type: "run-done"; readonly unreachable: boolean; readonly ok: boolean; readonly backoff: boolean }
  /** A probe said yes and the lane retries now. */
  | { readonly type: "retrying" };

export interface ReachProbeStep {
  readonly state: ReachProbeState;
  /** Start probing (absent: do not). */
  readonly probe?: true;
}

/** The probe's state after one input. Pure. */
export function stepReachProbe(state: ReachProbeState, input: ReachProbeInput): ReachProbeStep {
  switch (input.type) {
    case "retrying":
      return { state: { ...state, retried: true } };
    case "run-done": {
      const misled = input.ok ? false : state.misled || (state.retried && input.unreachable);
      const next = { retried: false, misled };
      return input.backoff && input.unreachable && !misled ? { state: next, probe: true } : { state: next };
    }
  }
}

export interface ReachProbeOptions {
  /** Whether the target accepts a connection now. */
  readonly probe: () => Promise<boolean>;
  readonly everyMs: number;
  /** The lane still backs off and may retry (not stopping, not halted). */
  readonly waiting: () => boolean;
  /** Retry now (the batcher's flush ends the backoff). */
  readonly retry: () => void;
}

export interface ReachProbe {
  /** A run ended (see ReachProbeInput "run-done"). */
  runDone(facts: { readonly unreachable: boolean; readonly ok: boolean; readonly backoff: boolean }): void;
  /** No probe any more (halt, stop); one in flight is ignored. */
  stop(): void;
}

/** A lane's reachability probe: carries out what stepReachProbe decides. */
export function startReachProbe(o: ReachProbeOptions): ReachProbe {
  let state = FRESH_PROBE;
  let timer: NodeJS.Timeout | undefined;

  const probeUntilBack = (): void => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      void o
        .probe()
        .catch(() => false)
        .then((up) => {
          timer = undefined;
          if (!o.waiting()) return;
          if (!up) return probeUntilBack();
          state = stepReachProbe(state, { type: "retrying" }).state;
          o.retry();
        });
    }, o.everyMs);
  };

  return {
    runDone: (facts) => {
      const next = stepReachProbe(state, { type: "run-done", ...facts });
      state = next.state;
      if (next.probe) probeUntilBack();
    },
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
