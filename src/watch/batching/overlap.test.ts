import { describe, expect, test } from "vitest";
import { DEFAULT_BATCHER_CONFIG } from "./batcher.ts";
import { changesOfBatch, decideOverlap, type OverlapDecision, type RunInFlight } from "./overlap.ts";
import { addChanges, EMPTY, type Pending } from "./pending.ts";
import type { Batch, Change } from "./types.ts";

const config = { ...DEFAULT_BATCHER_CONFIG, quietMs: 2, maxWaitMs: 10, holdOpenMs: 1000 };
const AFTER = 500;
const NOW = 10_000;

const file = (path: string): Change => ({ path, tree: false, write: "closed" });
const tree = (path: string, renamedFrom?: string): Change => (renamedFrom === undefined ? { path, tree: true } : { path, tree: true, renamedFrom });

function inFlight(changes: readonly Change[], startedAt = NOW - 1000): RunInFlight {
  const p = addChanges(EMPTY, changes, 0, 10_000);
  return { batch: { kind: "incremental", entries: p.entries, renames: p.renames }, startedAt };
}

function pendingOf(changes: readonly Change[], at = NOW - 100): Pending {
  return addChanges(EMPTY, changes, at, 10_000);
}

function decide(run: RunInFlight | undefined, pending: Pending, besideInFlight = false, now = NOW): OverlapDecision {
  return decideOverlap({ inFlight: run, besideInFlight, pending, now }, config, AFTER);
}

function beside(d: OverlapDecision): { paths: string[]; renames: [string, string][]; rest: string[] } {
  if (d.kind !== "beside") throw new Error(`expected a run beside, got ${d.kind}`);
  return { paths: [...d.batch.entries.keys()].sort(), renames: [...d.batch.renames], rest: [...d.rest.entries.keys()].sort() };
}

describe("a run beside the one in flight", () => {
  test("takes paths disjoint from the run in flight, and leaves the rest pending", () => {
    const d = decide(inFlight([file("a/big")]), pendingOf([file("a/small"), file("b/c"), file("top")]));
    expect(beside(d)).toEqual({ paths: ["a/small", "b/c", "top"], renames: [], rest: [] });
    if (d.kind === "beside") expect(d.rest).toBe(EMPTY);
  });

  test("never carries a path the run in flight carries", () => {
    const d = decide(inFlight([file("a/big")]), pendingOf([file("a/big"), file("a/small")]));
    expect(beside(d)).toMatchObject({ paths: ["a/small"], rest: ["a/big"] });
    expect(decide(inFlight([file("a/big")]), pendingOf([file("a/big")]))).toEqual({ kind: "no" });
  });

  test("never carries a path under a tree the run in flight covers, nor a directory over one of its paths", () => {
    const under = decide(inFlight([tree("d")]), pendingOf([file("d/x"), file("d/e/y"), file("dd")]));
    expect(beside(under)).toMatchObject({ paths: ["dd"], rest: ["d/e/y", "d/x"] });
    const over = decide(inFlight([file("a/b/big")]), pendingOf([tree("a"), file("c")]));
    expect(beside(over)).toMatchObject({ paths: ["c"], rest: ["a"] });
    const overFile = decide(inFlight([file("a/b/big")]), pendingOf([file("a/b")]));
    expect(overFile).toEqual({ kind: "no" });
  });

  test("the old path of a renamed directory in flight is the run's too", () => {
    const d = decide(inFlight([tree("old"), tree("new", "old")]), pendingOf([file("old/x"), file("other")]));
    expect(beside(d)).toMatchObject({ paths: ["other"], rest: ["old/x"] });
    const fromOnly = decide({ batch: { kind: "incremental", entries: new Map([["new", true]]), renames: new Map([["new", "old"]]) }, startedAt: 0 }, pendingOf([file("old/y")]));
    expect(fromOnly).toEqual({ kind: "no" });
  });

  test("a renamed directory goes beside with its old path's entry, or both stay", () => {
    // Neither end meets the run in flight: both go, with the rename.
    const both = decide(inFlight([file("x/big")]), pendingOf([tree("a"), tree("b", "a")]));
    expect(beside(both)).toEqual({ paths: ["a", "b"], renames: [["b", "a"]], rest: [] });
    // The new name is under the tree in flight: the old one, clear on its own, stays with it.
    const stays = decide(inFlight([tree("x")]), pendingOf([tree("a"), tree("x/b", "a"), file("z")]));
    expect(beside(stays)).toMatchObject({ paths: ["z"], rest: ["a", "x/b"] });
    if (stays.kind === "beside") expect([...stays.rest.renames]).toEqual([["x/b", "a"]]);
    // The old name meets the run in flight: the new one stays too.
    const fromMeets = decide(inFlight([file("a/big")]), pendingOf([tree("a"), tree("b", "a"), file("z")]));
    expect(beside(fromMeets)).toMatchObject({ paths: ["z"], rest: ["a", "b"] });
    // Only the new name is pending (the old one went out in the run in flight, or is over it): it stays.
    expect(decide(inFlight([tree("a")]), pendingOf([tree("b", "a")]))).toEqual({ kind: "no" });
    expect(decide(inFlight([file("a/big")]), pendingOf([tree("b", "a")]))).toEqual({ kind: "no" });
    // A chain a -> b -> c moves as one.
    const chain = decide(inFlight([file("c/big")]), pendingOf([tree("a"), tree("b", "a"), tree("c2", "b"), file("z")]));
    expect(beside(chain).paths).toEqual(["a", "b", "c2", "z"]);
  });

  test("waits until the run in flight is older than afterMs, and the pending set is due", () => {
    const young = inFlight([file("a/big")], NOW - 100);
    expect(decide(young, pendingOf([file("small")]))).toEqual({ kind: "later", wakeAt: NOW - 100 + AFTER });
    const justChanged = pendingOf([file("small")], NOW);
    expect(decide(inFlight([file("a/big")]), justChanged)).toEqual({ kind: "later", wakeAt: NOW + config.quietMs });
    expect(beside(decide(young, pendingOf([file("small")]), false, NOW - 100 + AFTER)).paths).toEqual(["small"]);
  });

  test("a file still open within its hold stays pending", () => {
    const p = addChanges(pendingOf([file("done")]), [{ path: "writing", tree: false, write: "open" }], NOW - 50, 10_000);
    const d = decide(inFlight([file("big")]), p);
    expect(beside(d)).toMatchObject({ paths: ["done"], rest: ["writing"] });
    if (d.kind === "beside") expect(d.rest.open.has("writing")).toBe(true);
  });

  test("a full sync never overlaps anything, in flight or waiting", () => {
    const full: RunInFlight = { batch: { kind: "full" }, startedAt: 0 };
    expect(decide(full, pendingOf([file("small")]))).toEqual({ kind: "no" });
    expect(decide(inFlight([file("big")]), { ...EMPTY, full: true, firstAt: 0, lastAt: 0 })).toEqual({ kind: "no" });
  });

  test("at most one run beside; none with nothing in flight, nothing pending, or overlap disabled", () => {
    const run = inFlight([file("big")]);
    const p = pendingOf([file("small")]);
    expect(decide(run, p, true)).toEqual({ kind: "no" });
    expect(decide(undefined, p)).toEqual({ kind: "no" });
    expect(decide(run, EMPTY)).toEqual({ kind: "no" });
    expect(decideOverlap({ inFlight: run, besideInFlight: false, pending: p, now: NOW }, config, Infinity)).toEqual({ kind: "no" });
  });

  test("a run beside that did not complete goes back as the same changes", () => {
    const batch: Extract<Batch, { kind: "incremental" }> = { kind: "incremental", entries: new Map([["a", true], ["b", true], ["f", false]]), renames: new Map([["b", "a"]]) };
    const back = addChanges(EMPTY, changesOfBatch(batch), 0, 10_000);
    expect(back.entries).toEqual(batch.entries);
    expect(back.renames).toEqual(batch.renames);
  });
});
