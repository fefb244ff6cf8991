import { ancestorsOf, type BytePath } from "../byte-path.ts";
import { dueAt, EMPTY, isEmpty, takeBatch, type Pending } from "./pending.ts";
import type { Batch, BatcherConfig, Change } from "./types.ts";

// Whether a second run may start beside the run in flight, and with which paths. Pure.
//
// A run that moves a large file (400 MB at --bwlimit=20m: 20 s) used to hold back every small
// change of the same target until it ended. A run beside it carries what arrived meanwhile, but
// only what cannot meet the run in flight on the target:
//
//   in flight: a/big            pending: a/big   -> stays (the same path: never two runs over it)
//                                        a       -> stays (a directory over an in-flight path:
//                                                   its --delete would remove the other run's
//                                                   temp file)
//   in flight: d (tree)         pending: d/x     -> stays (under a tree the run covers)
//   in flight: a/big            pending: a/small -> beside (a sibling; unlisted paths are
//                                                   excluded, so protected from its --delete)
//
// A directory renamed (`to` with its old path `from`) goes beside with its old path's entry or
// stays with it: the pair is one rename step on the target, and both its ends must be clear.
//
// Invariants:
// - At most one run beside, and only beside an incremental run: a full sync never overlaps
//   anything, and nothing goes beside while a full sync waits (it subsumes the pending set).
// - Only beside a run older than `afterMs`: normal short runs do not spawn extra rsyncs; the
//   pending set must also be due as the batcher would send it (quiet window, files still open).
// - Nothing here mutates the pending set it is given: `rest` is a new one.

/** How long a run must have been in flight before another may start beside it. */
export const DEFAULT_OVERLAP_AFTER_MS = 500;

/** The lane's normal run in flight: its batch and when it started (performance.now()). */
export interface RunInFlight {
  readonly batch: Batch;
  readonly startedAt: number;
}

export interface OverlapInput {
  readonly inFlight: RunInFlight | undefined;
  /** A run beside it (or an early send) is in flight already. */
  readonly besideInFlight: boolean;
  /** The lane's pending set (what arrived since the run in flight started). */
  readonly pending: Pending;
  readonly now: number;
}

export type OverlapDecision =
  /** Nothing to start beside now, nor later unless something changes. */
  | { readonly kind: "no" }
  /** Ask again at `wakeAt`: the run in flight is too young, or the pending set not due yet. */
  | { readonly kind: "later"; readonly wakeAt: number }
  /** Start `batch` beside the run in flight; `rest` is the lane's pending set without it. */
  | { readonly kind: "beside"; readonly batch: Extract<Batch, { kind: "incremental" }>; readonly rest: Pending };

// The paths a run touches on the target: its entries and the old paths of its renamed directories.
function touchedBy(batch: Extract<Batch, { kind: "incremental" }>): Set<BytePath> {
  return new Set([...batch.entries.keys(), ...batch.renames.values()]);
}

// Whether `path` is, is under, or is over a path of `touched` (`over` holds their ancestors).
function meets(path: BytePath, touched: ReadonlySet<BytePath>, over: ReadonlySet<BytePath>): boolean {
  return touched.has(path) || over.has(path) || ancestorsOf(path).some((a) => touched.has(a));
}

// The entries of `entries` that go together: a renamed directory with its old path's entry.
function groupsOf(entries: ReadonlyMap<BytePath, boolean>, renames: ReadonlyMap<BytePath, BytePath>): BytePath[][] {
  const parent = new Map<BytePath, BytePath>();
  const root = (p: BytePath): BytePath => {
    let r = p;
    while (parent.has(r)) r = parent.get(r) as BytePath;
    return r;
  };
  for (const [to, from] of renames) {
    if (!entries.has(to) || !entries.has(from)) continue;
    const a = root(to);
    const b = root(from);
    if (a !== b) parent.set(a, b);
  }
  const groups = new Map<BytePath, BytePath[]>();
  for (const path of entries.keys()) {
    const r = root(path);
    const group = groups.get(r);
    if (group === undefined) groups.set(r, [path]);
    else group.push(path);
  }
  return [...groups.values()];
}

/** Decides whether a run may start beside the one in flight, and what it carries. Pure. */
export function decideOverlap(input: OverlapInput, config: BatcherConfig, afterMs: number): OverlapDecision {
  const { inFlight, pending, now } = input;
  if (inFlight === undefined || input.besideInFlight || !Number.isFinite(afterMs)) return { kind: "no" };
  if (inFlight.batch.kind === "full" || pending.full || isEmpty(pending)) return { kind: "no" };
  const wakeAt = Math.max(inFlight.startedAt + afterMs, dueAt(pending, config));
  if (now < wakeAt) return { kind: "later", wakeAt };
  const { batch: ready } = takeBatch(pending, now, config, false);
  if (ready === undefined || ready.kind === "full") return { kind: "no" };
  const touched = touchedBy(inFlight.batch);
  const over = new Set([...touched].flatMap(ancestorsOf));
  const taken = new Map<BytePath, boolean>();
  for (const group of groupsOf(ready.entries, ready.renames)) {
    const ends = group.flatMap((p) => {
      const from = ready.renames.get(p);
      return from === undefined ? [p] : [p, from];
    });
    if (ends.some((p) => meets(p, touched, over))) continue;
    for (const p of group) taken.set(p, ready.entries.get(p) === true);
  }
  if (taken.size === 0) return { kind: "no" };
  const renames = new Map([...ready.renames].filter(([to]) => taken.has(to)));
  return { kind: "beside", batch: { kind: "incremental", entries: taken, renames }, rest: without(pending, taken) };
}

// The pending set minus the paths a run beside took; it keeps its times.
function without(p: Pending, taken: ReadonlyMap<BytePath, boolean>): Pending {
  const entries = new Map([...p.entries].filter(([path]) => !taken.has(path)));
  if (entries.size === 0) return EMPTY;
  const open = new Map([...p.open].filter(([path]) => !taken.has(path)));
  const renames = new Map([...p.renames].filter(([to]) => !taken.has(to)));
  return { ...p, entries, open, renames };
}

/** A batch as changes again (a run beside that did not complete goes back to the pending set). Pure. */
export function changesOfBatch(batch: Extract<Batch, { kind: "incremental" }>): Change[] {
  return [...batch.entries].map(([path, tree]): Change => {
    const from = batch.renames.get(path);
    return from === undefined ? { path, tree } : { path, tree, renamedFrom: from };
  });
}
