import { describe, expect, test } from "vitest";
import type { Change } from "../batching/types.ts";
import { EMPTY_COALESCER, queuedCount, stepCoalescer, type CoalescerState } from "./coalescer.ts";

const c = (path: string): Change => ({ path, tree: false, write: "closed" });

describe("stepCoalescer", () => {
  test("the first change after a quiet spell is delivered at once", () => {
    const s = stepCoalescer(EMPTY_COALESCER, { type: "add", changes: [c("a")], busy: false, now: 1000 });
    expect(s.deliver).toEqual([c("a")]);
    expect(s.state).toEqual({ chunks: [], lastDeliveryAt: 1000, wakeAt: undefined });
  });

  test("changes within the idle window wait for one delivery at its end, in order", () => {
    let state: CoalescerState = { chunks: [], lastDeliveryAt: 1000, wakeAt: undefined };
    let step = stepCoalescer(state, { type: "add", changes: [c("a")], busy: false, now: 1002 });
    expect(step.deliver).toBeUndefined();
    expect(step.state.wakeAt).toBe(1005);
    state = step.state;
    step = stepCoalescer(state, { type: "add", changes: [c("b"), c("c")], busy: false, now: 1003 });
    expect(step.state.wakeAt).toBe(1005); // no second timer
    expect(queuedCount(step.state)).toBe(3);
    step = stepCoalescer(step.state, { type: "timer", now: 1005 });
    expect(step.deliver).toEqual([c("a"), c("b"), c("c")]);
    expect(step.state.lastDeliveryAt).toBe(1005);
  });

  test("while a run is in flight, changes are gathered for 100 ms", () => {
    const step = stepCoalescer({ chunks: [], lastDeliveryAt: 1000, wakeAt: undefined }, { type: "add", changes: [c("a")], busy: true, now: 1050 });
    expect(step.deliver).toBeUndefined();
    expect(step.state.wakeAt).toBe(1100);
  });

  test("flush delivers what waits (before a run's end reaches the batcher); flushing nothing delivers nothing", () => {
    const waiting = stepCoalescer({ chunks: [], lastDeliveryAt: 1000, wakeAt: undefined }, { type: "add", changes: [c("a")], busy: true, now: 1001 }).state;
    const step = stepCoalescer(waiting, { type: "flush", now: 1010 });
    expect(step.deliver).toEqual([c("a")]);
    expect(step.state.wakeAt).toBeUndefined();
    expect(stepCoalescer(step.state, { type: "flush", now: 1011 }).deliver).toBeUndefined();
  });

  test("appending does not copy the changes already waiting (a storm stays linear)", () => {
    const big = Array.from({ length: 1000 }, (_, i) => c(`f${i}`));
    const waiting = stepCoalescer({ chunks: [], lastDeliveryAt: 1000, wakeAt: undefined }, { type: "add", changes: big, busy: true, now: 1001 }).state;
    const next = stepCoalescer(waiting, { type: "add", changes: [c("x")], busy: true, now: 1002 }).state;
    expect(next.chunks[0]).toBe(big);
  });
});
