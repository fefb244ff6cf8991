import type { Pending } from "../batching/pending.ts";
import { changesOfBatch, decideOverlap, type RunInFlight } from "../batching/overlap.ts";
import type { Batch, BatcherConfig, Change } from "../batching/types.ts";
import type { BatchResult } from "../rsync/batch.ts";

// Runs beside the lane's run in flight (batching/overlap.ts decides which paths may go): a large
// transfer no longer holds back small changes to other paths of the same target. This file owns
// the run beside, its timer and its end; the lane (lane.ts) tells it when its normal run starts
// and ends, and makes its next normal run wait until the run beside has ended too:
//
//   lane run:   |--- a/big (20 s) ------------------------------|   wait   |--- next run ...
//   beside:           |- a/s1 -| |- a/s2, a/s3 -|  ...  |- a/s9 -------------|
//                  ^ 500 ms
//
// A run beside that does not complete (failed, cancelled) gives its paths back to the lane's
// pending set, so the next normal run carries them with its retries, backoff and give-ups as
// before; no other run starts beside the same normal run (a target that refuses a second
// connection would otherwise be asked again every few milliseconds).

type Incremental = Extract<Batch, { kind: "incremental" }>;

export interface BesideOptions {
  readonly config: BatcherConfig;
  /** How old the run in flight must be (Infinity: never run beside). */
  readonly afterMs: number;
  /** The lane's pending set while its normal run is in flight (undefined otherwise), and whether anything else blocks a run beside (an early send, stopping, halted). */
  readonly read: () => { readonly pending: Pending | undefined; readonly blocked: boolean };
  /** The lane's pending set without what the run beside took. */
  readonly take: (rest: Pending) => void;
  /** Paths of a run beside that did not complete, back to the lane. */
  readonly giveBack: (changes: readonly Change[]) => void;
  readonly run: (batch: Incremental, signal: AbortSignal) => Promise<BatchResult | { readonly halted: unknown }>;
  /** A run beside ended (not called when it was refused before starting). */
  readonly done: (batch: Incremental, result: BatchResult) => void;
}

export interface BesideRuns {
  /** The lane's normal run started (`now`: performance.now()). */
  started(batch: Batch, now: number): void;
  /** The lane's normal run ended: nothing new starts beside it; resolves once the run beside (if any) ended too. */
  ended(): Promise<void>;
  /** Something arrived or changed: start a run beside if the decision says so. */
  consider(): void;
  /** Paths in the run beside. */
  paths(): number;
  inFlight(): boolean;
  /** Cancels the run beside (halt, stop timeout). */
  abort(): void;
  /** No new runs beside, no timer. */
  stop(): void;
}

export function startBesideRuns(o: BesideOptions): BesideRuns {
  let main: RunInFlight | undefined;
  let beside: { readonly batch: Incremental; readonly controller: AbortController; readonly done: Promise<void> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // A run beside the current normal run did not complete: none again until the next normal run.
  let failed = false;

  const arm = (wakeAt: number | undefined): void => {
    clearTimeout(timer);
    timer = undefined;
    if (wakeAt === undefined || stopped) return;
    timer = setTimeout(consider, Math.max(0, wakeAt - performance.now()));
  };

  const consider = (): void => {
    const { pending, blocked } = o.read();
    if (stopped || blocked || failed || pending === undefined) return arm(undefined);
    const decision = decideOverlap({ inFlight: main, besideInFlight: beside !== undefined, pending, now: performance.now() }, o.config, o.afterMs);
    if (decision.kind === "later") return arm(decision.wakeAt);
    arm(undefined);
    if (decision.kind === "no") return;
    const { batch, rest } = decision;
    o.take(rest);
    const controller = new AbortController();
    const done = o.run(batch, controller.signal).then((result) => {
      beside = undefined;
      if ("halted" in result || result.outcome !== "ok") {
        failed = true;
        o.giveBack(changesOfBatch(batch));
      }
      if (!("halted" in result)) o.done(batch, result);
      consider(); // what arrived meanwhile, while the normal run is still in flight
    });
    beside = { batch, controller, done };
  };

  return {
    started: (batch, now) => {
      main = { batch, startedAt: now };
      failed = false;
      consider();
    },
    ended: async () => {
      main = undefined;
      arm(undefined);
      await beside?.done;
    },
    consider,
    paths: () => beside?.batch.entries.size ?? 0,
    inFlight: () => beside !== undefined,
    abort: () => beside?.controller.abort(),
    stop: () => {
      stopped = true;
      arm(undefined);
    },
  };
}
