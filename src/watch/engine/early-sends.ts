import type { Batch, Change } from "../batching/types.ts";
import type { BytePath } from "../byte-path.ts";
import type { BatchResult } from "../rsync/batch.ts";

// Early sends (see LaneEvent "early-run-done"): while a full sync runs, which can take minutes on
// a big tree, the changes that arrive are held by the lane's batcher for after it (that is what
// keeps them safe: its --delete-delay may remove a file it did not list, or land an older copy
// over a newer one) and, meanwhile, also sent at once by small incremental runs beside it, one at
// a time, so they show on the target without waiting for its end. Nothing depends on them.
//
//   full sync:  |----------------------------------------------------|
//   early:          |- a, b -|  |- c -|      (gave up past EARLY_MAX_PATHS: none until the next full sync)
//
// `stepEarlySends` decides (pure); `startEarlySends` owns the run in flight.

/**
 * Paths an early send may carry before it gives up for the rest of the full sync (a storm during a
 * full sync goes out after it, as a batch or a full sync of its own, as it always did).
 */
export const EARLY_MAX_PATHS = 1000;

/**
 * What an early send takes from a change stream: closed writes, new and deleted paths; not a file
 * still open (it is sent once closed), nor a renamed directory (its rename step needs the batch
 * machinery). `into` is path -> tree. Pure apart from filling `into`.
 */
function addEarlyPaths(into: Map<BytePath, boolean>, changes: readonly Change[]): void {
  for (const c of changes) {
    if (c.write === "open" || c.renamedFrom !== undefined || c.path.length === 0) continue;
    into.set(c.path, c.tree || (into.get(c.path) ?? false));
  }
}

export interface EarlySendsState {
  /** The lane's full sync is in flight. */
  readonly full: boolean;
  /** More than EARLY_MAX_PATHS arrived during this full sync: no more early sends for it. */
  readonly gaveUp: boolean;
  /** Paths waiting for the next early send (path -> tree). */
  readonly paths: ReadonlyMap<BytePath, boolean>;
  /** An early send is in flight. */
  readonly running: boolean;
}

export const NO_EARLY_SENDS: EarlySendsState = { full: false, gaveUp: false, paths: new Map(), running: false };

export type EarlySendsInput =
  | { readonly type: "full-started" }
  | { readonly type: "full-ended" }
  /** Changes reached the lane; `blocked`: it stops or halted (nothing new runs). */
  | { readonly type: "changed"; readonly changes: readonly Change[]; readonly blocked: boolean }
  /** The early send in flight ended; `halted`: it was refused (nothing follows it). */
  | { readonly type: "run-done"; readonly halted: boolean; readonly blocked: boolean }
  /** The lane halted: what waits is dropped (the batcher still holds it). */
  | { readonly type: "halt" };

export interface EarlySendsStep {
  readonly state: EarlySendsState;
  /** Start this early send now. */
  readonly run?: Extract<Batch, { kind: "incremental" }>;
}

// Starts the next early send if one may go.
function launch(state: EarlySendsState, blocked: boolean): EarlySendsStep {
  if (state.running || state.paths.size === 0 || !state.full || blocked) return { state };
  return { state: { ...state, paths: new Map(), running: true }, run: { kind: "incremental", entries: state.paths, renames: new Map() } };
}

/** The early sends after one input. Pure: never mutates `state`. */
export function stepEarlySends(state: EarlySendsState, input: EarlySendsInput): EarlySendsStep {
  switch (input.type) {
    case "full-started":
      return { state: { ...state, full: true, gaveUp: false } };
    case "full-ended":
      // Held too: they go out after the full sync, as the lane's next batch.
      return { state: { ...state, full: false, paths: new Map() } };
    case "changed": {
      if (!state.full || state.gaveUp || input.blocked) return { state };
      const paths = new Map(state.paths);
      addEarlyPaths(paths, input.changes);
      if (paths.size > EARLY_MAX_PATHS) return { state: { ...state, gaveUp: true, paths: new Map() } };
      return launch({ ...state, paths }, false);
    }
    case "run-done": {
      const idle = { ...state, running: false };
      return input.halted ? { state: idle } : launch(idle, input.blocked); // what arrived meanwhile
    }
    case "halt":
      return { state: { ...state, paths: new Map() } };
  }
}

export interface EarlySendsOptions {
  readonly run: (batch: Batch, signal: AbortSignal) => Promise<BatchResult | { readonly halted: unknown }>;
  /** An early send ended (not called when it was refused). */
  readonly done: (batch: Batch, result: BatchResult) => void;
  /** The lane stops or halted: nothing new starts. */
  readonly blocked: () => boolean;
}

export interface EarlySends {
  fullStarted(): void;
  fullEnded(): void;
  add(changes: readonly Change[]): void;
  /** Cancels the early send in flight and drops what waits. */
  halt(): void;
  /** The early send in flight, if any. */
  inFlight(): { readonly controller: AbortController; readonly done: Promise<void> } | undefined;
}

/** A lane's early sends: carries out what stepEarlySends decides. */
export function startEarlySends(o: EarlySendsOptions): EarlySends {
  let state = NO_EARLY_SENDS;
  let inFlight: { readonly controller: AbortController; readonly done: Promise<void> } | undefined;

  const apply = (input: EarlySendsInput): void => {
    const next = stepEarlySends(state, input);
    state = next.state;
    if (next.run !== undefined) start(next.run);
  };

  const start = (batch: Batch): void => {
    const controller = new AbortController();
    const done = o.run(batch, controller.signal).then((result) => {
      inFlight = undefined;
      if (!("halted" in result)) o.done(batch, result);
      apply({ type: "run-done", halted: "halted" in result, blocked: o.blocked() });
    });
    inFlight = { controller, done };
  };

  return {
    fullStarted: () => apply({ type: "full-started" }),
    fullEnded: () => apply({ type: "full-ended" }),
    add: (changes) => apply({ type: "changed", changes, blocked: o.blocked() }),
    halt: () => {
      inFlight?.controller.abort();
      apply({ type: "halt" });
    },
    inFlight: () => inFlight,
  };
}
