import { describe, expect, test } from "vitest";
import { DEFAULT_BATCHER_CONFIG, INITIAL_STATE, pendingCount, step, type BatcherState, type Step } from "./batcher.ts";
import type { BatcherConfig, Change } from "./types.ts";

const config: BatcherConfig = { ...DEFAULT_BATCHER_CONFIG, quietMs: 2, maxWaitMs: 50, holdOpenMs: 1000, maxPaths: 5 };

const file = (path: string, write?: "open" | "closed"): Change => (write === undefined ? { path, tree: false } : { path, tree: false, write });
const tree = (path: string): Change => ({ path, tree: true });

// Feeds inputs in order and returns every step, so tests can look at runs and wake times.
function run(inputs: Parameters<typeof step>[1][], cfg = config, from: BatcherState = INITIAL_STATE): Step[] {
  const steps: Step[] = [];
  let state = from;
  for (const input of inputs) {
    const s = step(state, input, cfg);
    steps.push(s);
    state = s.state;
  }
  return steps;
}

function entriesOf(s: Step | undefined): [string, boolean][] | "full" | undefined {
  if (s?.run === undefined) return undefined;
  return s.run.kind === "full" ? "full" : [...s.run.entries].sort();
}

describe("batching", () => {
  test("a lone change goes out after the quiet spell", () => {
    const [a, b, c] = run([
      { type: "changed", changes: [file("a", "closed")], now: 100 },
      { type: "tick", now: 101 },
      { type: "tick", now: 102 },
    ]);
    expect(a?.wakeAt).toBe(102);
    expect(b?.run).toBeUndefined();
    expect(b?.wakeAt).toBe(102);
    expect(entriesOf(c)).toEqual([["a", false]]);
    expect(c?.state.phase).toBe("running");
  });

  test("a file's create and its close go out once, as one path, after the close", () => {
    const steps = run([
      { type: "changed", changes: [file("f", "open")], now: 0 },
      { type: "tick", now: 5 },
      { type: "changed", changes: [file("f", "closed")], now: 30 },
      { type: "tick", now: 32 },
    ]);
    expect(steps[0]?.wakeAt).toBe(1000); // held for its close, at most holdOpenMs
    expect(steps[1]?.run).toBeUndefined();
    expect(entriesOf(steps[3])).toEqual([["f", false]]);
  });

  test("an open file does not hold back other changes, and goes out when its hold expires", () => {
    const steps = run([
      { type: "changed", changes: [file("big", "open"), file("small", "closed")], now: 0 },
      { type: "tick", now: 2 },
      { type: "run-done", outcome: "ok", now: 40 },
      { type: "tick", now: 1000 },
    ]);
    expect(entriesOf(steps[1])).toEqual([["small", false]]);
    expect(steps[2]?.state.phase).toBe("collecting");
    expect(steps[2]?.wakeAt).toBe(1000);
    expect(entriesOf(steps[3])).toEqual([["big", false]]);
  });

  test("paths are de-duplicated; a tree covers the paths under it", () => {
    const steps = run([
      { type: "changed", changes: [file("a/x"), file("a/x", "closed"), tree("d"), file("d/e/f", "open"), file("d/g")], now: 0 },
      { type: "tick", now: 10 },
    ]);
    expect(entriesOf(steps[1])).toEqual([
      ["a/x", false],
      ["d", true],
    ]);
  });

  test("changes during a run form the next batch, which leaves as soon as the run ends", () => {
    const steps = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "tick", now: 2 },
      { type: "changed", changes: [file("b")], now: 10 },
      { type: "changed", changes: [file("c")], now: 20 },
      { type: "run-done", outcome: "ok", now: 100 },
    ]);
    expect(steps[2]?.run).toBeUndefined();
    expect(pendingCount(steps[3]!.state)).toBe(3); // a in flight, b and c waiting: none on the target yet
    expect(entriesOf(steps[4])).toEqual([
      ["b", false],
      ["c", false],
    ]);
  });

  test("delay holds a batch until its first change is delay old; a steady stream still leaves after delay + maxWait", () => {
    const slow = { ...config, delayMs: 300, maxPaths: 1000 };
    const [first] = run([{ type: "changed", changes: [file("a")], now: 0 }], slow);
    expect(first?.wakeAt).toBe(300);
    const stream = run(
      Array.from({ length: 40 }, (_, i) => ({ type: "changed" as const, changes: [file(`f${i}`)], now: i * 1 })),
      { ...config, maxPaths: 1000 },
    );
    expect(stream.at(-1)?.wakeAt).toBe(41); // quiet spell after the last change
    const endless = run(
      Array.from({ length: 100 }, (_, i) => ({ type: "changed" as const, changes: [file(`f${i}`)], now: i })),
      { ...config, maxPaths: 1000 },
    );
    expect(endless.findIndex((s) => s.run !== undefined)).toBe(50); // capped by maxWaitMs
  });

  test("more pending paths than maxPaths become a full sync", () => {
    const steps = run([
      { type: "changed", changes: [file("x")], now: 0 },
      { type: "tick", now: 2 },
      { type: "changed", changes: ["a", "b", "c", "d", "e", "f"].map((p) => file(p)), now: 3 },
      { type: "run-done", outcome: "ok", now: 10 },
    ]);
    expect(pendingCount(steps[2]!.state)).toBe(2); // x in flight, and a full sync waiting
    expect(entriesOf(steps[3])).toBe("full");
  });

  test("a rescan of the whole tree is a full sync", () => {
    const steps = run([{ type: "changed", changes: [file("a"), tree("")], now: 0 }]);
    expect(entriesOf(steps[0])).toBe("full");
  });
});

describe("renames", () => {
  const renamed = (path: string, from: string): Change => ({ path, tree: true, renamedFrom: from });
  const renamesOf = (s: Step | undefined) => (s?.run?.kind === "incremental" ? [...s.run.renames] : undefined);

  test("a renamed directory travels with its old path, and survives a retry", () => {
    const steps = run([
      { type: "changed", changes: [tree("old"), renamed("new", "old")], now: 0 },
      { type: "tick", now: 2 },
      { type: "run-done", outcome: "transient", now: 5 },
      { type: "tick", now: 1005 },
    ]);
    expect(renamesOf(steps[1])).toEqual([["new", "old"]]);
    expect(renamesOf(steps[3])).toEqual([["new", "old"]]);
  });

  test("a directory moved away waits for its move-to, and both ends go out in one batch", () => {
    const movedAway: Change = { path: "old", tree: true, write: "open" };
    const steps = run([
      { type: "changed", changes: [movedAway], now: 0 },
      { type: "tick", now: 2 }, // the quiet window is over, but the other end may still come
      { type: "changed", changes: [renamed("new", "old")], now: 3 },
      { type: "tick", now: 5 },
    ]);
    expect(steps[1]?.run).toBeUndefined();
    expect(entriesOf(steps[3])).toEqual([
      ["new", true],
      ["old", true],
    ]);
    expect(renamesOf(steps[3])).toEqual([["new", "old"]]);
    // Moved out of the tree: no move-to ever comes; it goes out when the hold expires.
    const away = run([{ type: "changed", changes: [movedAway], now: 0 }, { type: "tick", now: 2 }, { type: "tick", now: 1000 }]);
    expect(away[1]?.run).toBeUndefined();
    expect(entriesOf(away[2])).toEqual([["old", true]]);
  });

  test("a later tree change of the new path, or a tree above it, drops the rename", () => {
    const later = run([{ type: "changed", changes: [renamed("new", "old"), tree("new")], now: 0 }, { type: "tick", now: 2 }]);
    expect(renamesOf(later[1])).toEqual([]);
    const covered = run([{ type: "changed", changes: [tree("parent"), renamed("parent/new", "old")], now: 0 }, { type: "tick", now: 2 }]);
    expect(renamesOf(covered[1])).toEqual([]);
  });
});

describe("full syncs", () => {
  test("a full sync starts at once when nothing runs, and covers what was pending", () => {
    const steps = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "full-sync", now: 1 },
      { type: "run-done", outcome: "ok", now: 500 },
    ]);
    expect(entriesOf(steps[1])).toBe("full");
    expect(steps[2]?.state).toEqual({ phase: "idle" });
  });

  test("full and incremental never overlap; changes during the full sync go out after it", () => {
    const steps = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "tick", now: 2 },
      { type: "full-sync", now: 3 }, // requested while the incremental runs
      { type: "changed", changes: [file("b")], now: 4 }, // covered by the coming full sync
      { type: "run-done", outcome: "ok", now: 50 },
      { type: "changed", changes: [file("c")], now: 60 }, // arrives during the full sync
      { type: "run-done", outcome: "ok", now: 900 },
    ]);
    expect(steps[2]?.run).toBeUndefined();
    expect(entriesOf(steps[4])).toBe("full");
    expect(entriesOf(steps[6])).toEqual([["c", false]]);
  });
});

describe("failures", () => {
  test("a transient failure keeps the batch, merges new changes and retries with capped exponential backoff", () => {
    const steps = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "tick", now: 2 },
      { type: "run-done", outcome: "transient", now: 10 },
      { type: "changed", changes: [file("b")], now: 20 },
      { type: "tick", now: 500 },
      { type: "tick", now: 1010 },
      { type: "run-done", outcome: "transient", now: 1020 },
    ]);
    expect(steps[2]?.state.phase).toBe("backoff");
    expect(steps[2]?.wakeAt).toBe(1010);
    expect(steps[3]?.wakeAt).toBe(1010);
    expect(steps[4]?.run).toBeUndefined();
    expect(entriesOf(steps[5])).toEqual([
      ["a", false],
      ["b", false],
    ]);
    expect(steps[6]?.wakeAt).toBe(1020 + 2000);
    let state = steps[6]!.state;
    let now = 1020;
    let wake = 0;
    for (let i = 0; i < 10; i++) {
      now += 100_000;
      const tick = step(state, { type: "tick", now }, config);
      const done = step(tick.state, { type: "run-done", outcome: "transient", now }, config);
      state = done.state;
      wake = (done.wakeAt ?? 0) - now;
    }
    expect(wake).toBe(30_000);
  });

  test("a partial transfer (23) of an incremental run is retried twice, then given up (the engine schedules its repair)", () => {
    let state: BatcherState = step(INITIAL_STATE, { type: "changed", changes: [file("a")], now: 0 }, config).state;
    const seen: string[] = [];
    let now = 0;
    for (let i = 0; i < 3; i++) {
      now += 60_000;
      const tick = step(state, { type: "tick", now }, config);
      expect(tick.run).toBeDefined();
      const done = step(tick.state, { type: "run-done", outcome: "partial", now }, config);
      state = done.state;
      seen.push(done.gaveUp === undefined ? state.phase : `gave up ${done.gaveUp.outcome}`);
    }
    expect(seen).toEqual(["backoff", "backoff", "gave up partial"]);
    expect(state).toEqual({ phase: "idle" });
  });

  test("any other failure drops the batch at once; what was queued still goes out", () => {
    const steps = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "tick", now: 2 },
      { type: "changed", changes: [file("b")], now: 3 },
      { type: "run-done", outcome: "fatal", now: 10 },
    ]);
    expect(steps[3]?.gaveUp?.batch).toEqual({ kind: "incremental", entries: new Map([["a", false]]), renames: new Map() });
    expect(entriesOf(steps[3])).toEqual([["b", false]]);
  });

  test("a cancelled run puts its batch back, and flush sends everything at once", () => {
    const steps = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "tick", now: 2 },
      { type: "changed", changes: [file("b", "open")], now: 3 },
      { type: "run-done", outcome: "cancelled", now: 4 },
      { type: "flush", now: 5 },
    ]);
    expect(entriesOf(steps[4])).toEqual([
      ["a", false],
      ["b", false],
    ]);
  });

  test("a full sync that ends partial is given up at once: the repair schedule spaces full syncs out", () => {
    const steps = run([
      { type: "full-sync", now: 0 },
      { type: "run-done", outcome: "partial", now: 100 },
    ]);
    expect(steps[1]?.gaveUp).toEqual({ batch: { kind: "full" }, outcome: "partial" });
    expect(steps[1]?.state).toEqual({ phase: "idle" });
  });

  test("a daemon that refused the password is retried slowly: 1 min doubling up to 5 min", () => {
    let state = step(INITIAL_STATE, { type: "changed", changes: [file("a")], now: 0 }, config).state;
    const waits: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      now += 1_000_000;
      const tick = step(state, { type: "tick", now }, config);
      const done = step(tick.state, { type: "run-done", outcome: "auth", now }, config);
      expect(done.gaveUp).toBeUndefined(); // never given up: the batch waits for the password
      expect(pendingCount(done.state)).toBe(1);
      waits.push((done.wakeAt ?? 0) - now);
      state = done.state;
    }
    expect(waits).toEqual([60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  test("pending counts the batch in flight and the batch waiting for its retry", () => {
    const steps = run([
      { type: "changed", changes: [file("a"), file("b")], now: 0 },
      { type: "tick", now: 2 },
      { type: "run-done", outcome: "transient", now: 10 },
    ]);
    expect(steps.map((s) => pendingCount(s.state))).toEqual([2, 2, 2]);
    expect(steps[2]?.state.phase).toBe("backoff");
  });

  test("halted (a guard refused the full sync, or maxDelete was hit): nothing runs again, changes are still counted", () => {
    const refused = run([
      { type: "changed", changes: [file("a")], now: 0 },
      { type: "full-sync", now: 1 },
      { type: "halt", now: 5 },
      { type: "changed", changes: [file("b")], now: 6 },
      { type: "tick", now: 100 },
      { type: "full-sync", now: 101 },
      { type: "flush", now: 102 },
    ]);
    expect(refused[2]?.state.phase).toBe("halted");
    expect(refused.slice(2).every((s) => s.run === undefined && s.wakeAt === undefined)).toBe(true);
    expect(pendingCount(refused.at(-1)!.state)).toBe(1); // the full sync that never ran
    const limited = run([
      { type: "full-sync", now: 0 },
      { type: "changed", changes: [file("c")], now: 1 },
      { type: "run-done", outcome: "max-delete", now: 50 },
    ]);
    expect(limited[2]?.state.phase).toBe("halted");
    expect(limited[2]?.run).toBeUndefined();
    expect(pendingCount(limited[2]!.state)).toBe(1); // c, changed during the full sync
    expect(() => step(limited[2]!.state, { type: "run-done", outcome: "ok", now: 60 }, config)).toThrow(/run-done received while halted/);
  });

  test("resume (the recorded source root is back): what waited while halted runs again; elsewhere it changes nothing", () => {
    const steps = run([
      { type: "changed", changes: [file("a", "closed")], now: 0 },
      { type: "halt", now: 1 },
      { type: "changed", changes: [file("b", "closed")], now: 2 },
      { type: "resume", now: 3 },
      { type: "full-sync", now: 4 },
    ]);
    expect(steps[3]?.state.phase).toBe("collecting");
    expect(pendingCount(steps[3]!.state)).toBe(2);
    expect(entriesOf(steps[4])).toBe("full");
    expect(step(INITIAL_STATE, { type: "resume", now: 0 }, config).state).toBe(INITIAL_STATE);
    const emptyHalt = run([{ type: "halt", now: 0 }, { type: "resume", now: 1 }]);
    expect(emptyHalt[1]?.state.phase).toBe("idle");
  });

  test("halt from every phase (another lane found the watch's source gone): what waited stays counted, nothing runs", () => {
    const idle = step(INITIAL_STATE, { type: "halt", now: 0 }, config);
    expect(idle.state).toEqual({ phase: "halted", pending: expect.objectContaining({ full: false }) });
    expect(pendingCount(idle.state)).toBe(0);
    const collecting = run([{ type: "changed", changes: [file("a", "open")], now: 0 }, { type: "halt", now: 1 }]);
    expect(collecting[1]?.state.phase).toBe("halted");
    expect(pendingCount(collecting[1]!.state)).toBe(1);
    const backoff = run([
      { type: "changed", changes: [file("a"), file("b")], now: 0 },
      { type: "tick", now: 2 },
      { type: "run-done", outcome: "transient", now: 10 },
      { type: "halt", now: 11 },
      { type: "tick", now: 5000 },
    ]);
    expect(backoff[3]?.state.phase).toBe("halted");
    expect(backoff[3]?.wakeAt).toBeUndefined();
    expect(backoff[4]?.run).toBeUndefined();
    expect(pendingCount(backoff[4]!.state)).toBe(2);
    expect(step(backoff[3]!.state, { type: "halt", now: 12 }, config).state).toEqual(backoff[3]!.state);
  });

  test("run-done without a run in flight is a bug", () => {
    expect(() => step(INITIAL_STATE, { type: "run-done", outcome: "ok", now: 0 }, config)).toThrow(/run-done received while idle/);
  });

  test("steps never mutate the state they are given", () => {
    const first = step(INITIAL_STATE, { type: "changed", changes: [file("a")], now: 0 }, config);
    const snapshot = structuredClone(first.state);
    step(first.state, { type: "changed", changes: [file("b"), tree("c")], now: 1 }, config);
    step(first.state, { type: "tick", now: 10 }, config);
    expect(first.state).toEqual(snapshot);
  });
});
