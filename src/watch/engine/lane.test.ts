import { describe, expect, test } from "vitest";
import { DEFAULT_BATCHER_CONFIG } from "../batching/batcher.ts";
import type { Batch, BatcherConfig, Change } from "../batching/types.ts";
import type { BatchResult } from "../rsync/batch.ts";
import type { LaneEvent } from "./events.ts";
import { EARLY_MAX_PATHS } from "./early-sends.ts";
import { startLane, type Lane, type LaneRunner } from "./lane.ts";

// The lane as a unit: two of them fed the same change stream, one runner for each standing in
// for rsync (a target that answers, one that is down, one that is slow). No processes, real (short)
// timers: what matters is that nothing one lane does waits for the other.

const config: BatcherConfig = { ...DEFAULT_BATCHER_CONFIG, quietMs: 2, maxWaitMs: 10, backoffInitialMs: 30, backoffMaxMs: 60, maxPaths: 50 };
const repair = { initialMs: 60_000, maxMs: 60_000 };

const file = (path: string): Change => ({ path, tree: false, write: "closed" });
const ok: BatchResult = { outcome: "ok", exitCode: 0, durationMs: 1, messages: [] };
const refused: BatchResult = { outcome: "transient", exitCode: 10, durationMs: 1, messages: ["rsync: [sender] failed to connect to 127.0.0.1 (127.0.0.1): Connection refused (111)"] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** A stand-in target: records every batch, answers with `answer()` once `gate` (if any) opens. */
function fakeTarget(answer: () => BatchResult) {
  const batches: Batch[] = [];
  const signals: AbortSignal[] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const run: LaneRunner = async (batch, signal, hooks) => {
    batches.push(batch);
    signals.push(signal);
    hooks.start();
    if (gate !== undefined) await Promise.race([gate, new Promise((r) => signal.addEventListener("abort", r, { once: true }))]);
    return signal.aborted ? { ...ok, outcome: "cancelled" } : answer();
  };
  return {
    run,
    batches,
    signals,
    /** Runs wait until release() (a slow target). */
    hold: () => {
      gate = new Promise((r) => (open = r));
    },
    release: () => {
      gate = undefined;
      open?.();
    },
    paths: () => batches.flatMap((b) => (b.kind === "full" ? ["<full>"] : [...b.entries.keys()])),
  };
}

function lane(key: string, run: LaneRunner, events: LaneEvent[] = []): Lane {
  return startLane({ key, config, repair, run, emit: (e) => events.push(e) });
}

// The watch's change stream: the same changes to every lane, as the engine hands them out.
function feed(lanes: readonly Lane[], changes: readonly Change[]): void {
  const now = performance.now();
  for (const l of lanes) l.add(changes, now);
}

describe("lanes of one watch", () => {
  test("a target that is down keeps its lane retrying while the other lane sends each change at once; back, it catches up in one run", async () => {
    let up = false;
    const a = fakeTarget(() => ok);
    const b = fakeTarget(() => (up ? ok : refused));
    const eventsB: LaneEvent[] = [];
    const A = lane("a", a.run);
    const B = lane("b", b.run, eventsB);
    for (let i = 0; i < 10; i++) {
      feed([A, B], [file(`f${i}`)]);
      // Each change reaches A's target on its own, while B's target refuses every attempt.
      await until(() => a.paths().includes(`f${i}`) && A.idle(), `f${i} on target a`);
      expect(A.pending()).toBe(0);
      await sleep(5);
    }
    expect(a.paths()).toEqual(Array.from({ length: 10 }, (_, i) => `f${i}`));
    expect(B.pending()).toBe(10);
    expect(B.idle()).toBe(false);
    expect(eventsB.some((e) => e.type === "retry-scheduled")).toBe(true);
    expect(eventsB.every((e) => e.target === "b")).toBe(true);
    // Back: the retry sends everything that waited, as one batch.
    up = true;
    await until(() => B.idle(), "lane b idle");
    const last = b.batches.at(-1);
    expect(last?.kind === "incremental" ? [...last.entries.keys()].sort() : last).toEqual(Array.from({ length: 10 }, (_, i) => `f${i}`).sort());
    expect(B.pending()).toBe(0);
  });

  test("a retry carries what arrived during the backoff, also what the coalescer still held", async () => {
    let up = false;
    const b = fakeTarget(() => (up ? ok : refused));
    const B = lane("b", b.run);
    feed([B], [file("first")]);
    await until(() => b.batches.length === 1 && B.pending() === 1 && !B.idle(), "the first attempt refused");
    // Busy (backing off for 30 ms), the lane's coalescer holds this for up to 100 ms.
    feed([B], [file("second")]);
    up = true;
    await until(() => B.idle(), "lane b idle");
    expect(b.paths()).toEqual(["first", "first", "second"]);
    expect(b.batches).toHaveLength(2);
  });

  test("a lane whose target is down collapses to one full sync past maxPaths; the other lane is not affected", async () => {
    let up = false;
    const a = fakeTarget(() => ok);
    const b = fakeTarget(() => (up ? ok : refused));
    const A = lane("a", a.run);
    const B = lane("b", b.run);
    feed([A, B], [file("first")]);
    await until(() => b.batches.length >= 1 && A.idle(), "first attempts");
    for (let round = 0; round < 3; round++) {
      feed([A, B], Array.from({ length: 20 }, (_, i) => file(`storm/${round}/${i}`)));
      await until(() => a.paths().includes(`storm/${round}/19`) && A.idle(), `round ${round} on a`);
    }
    expect(a.batches.every((batch) => batch.kind === "incremental")).toBe(true); // 20 at a time stays below maxPaths
    // Delivered to its batcher (within its 100 ms busy window), 61 paths become one full sync.
    await until(() => B.pending() === 1, "lane b's pending set collapsed to one full sync");
    up = true;
    await until(() => B.idle(), "lane b idle");
    expect(b.batches.at(-1)).toEqual({ kind: "full" });
  });

  test("a slow target holds only its own lane: the other's runs go on while it is in flight", async () => {
    const a = fakeTarget(() => ok);
    const b = fakeTarget(() => ok);
    const A = lane("a", a.run);
    const B = lane("b", b.run);
    b.hold();
    feed([A, B], [file("x")]);
    await until(() => a.paths().includes("x") && b.paths().includes("x"), "x started on both");
    for (const name of ["y", "z"]) {
      feed([A, B], [file(name)]);
      await until(() => a.paths().includes(name) && A.idle(), `${name} on a`);
    }
    expect(b.batches).toHaveLength(1); // still in flight with x; y and z wait behind it
    expect(B.pending()).toBe(3);
    b.release();
    await until(() => B.idle(), "lane b idle");
    expect(b.paths()).toEqual(["x", "y", "z"]);
  });

  test("halting one lane cancels its run in flight and keeps what it had pending; the other goes on", async () => {
    const a = fakeTarget(() => ok);
    const b = fakeTarget(() => ok);
    const eventsB: LaneEvent[] = [];
    const A = lane("a", a.run);
    const B = lane("b", b.run, eventsB);
    b.hold();
    feed([A, B], [file("x")]);
    await until(() => b.batches.length === 1, "x in flight on b");
    B.halt("max-delete", "maxDelete");
    await until(() => B.halted(), "lane b halted");
    expect(b.signals[0]?.aborted).toBe(true);
    expect(B.pending()).toBe(1);
    expect(eventsB.filter((e) => e.type === "halted")).toEqual([{ type: "halted", at: expect.any(Number), target: "b", reason: "max-delete", message: "maxDelete" }]);
    feed([A, B], [file("y")]);
    await until(() => a.paths().includes("y") && A.idle(), "y on a");
    B.requestFull("schedule");
    await sleep(20);
    expect(b.batches).toHaveLength(1); // nothing runs on a halted lane
    expect(B.pending()).toBe(2);
    b.release();
  });

  test("stop: each lane flushes what it has, side by side; a lane whose target does not answer costs its own timeout", async () => {
    const a = fakeTarget(() => ok);
    const b = fakeTarget(() => ok);
    const A = lane("a", a.run);
    const B = lane("b", b.run);
    b.hold();
    feed([A, B], [file("x")]);
    await until(() => b.batches.length === 1 && A.idle(), "x sent to a, in flight to b");
    A.beginStop();
    B.beginStop();
    const left = await Promise.all([A.finishStop(50), B.finishStop(50)]);
    expect(left).toEqual([0, 1]); // b's run was cancelled after 50 ms; x is still pending there
    expect(b.signals[0]?.aborted).toBe(true);
  });
});

describe("early sends during a full sync", () => {
  // Full syncs wait at a gate (a big tree); incremental runs answer at once.
  function slowFullTarget() {
    const batches: { batch: Batch; during: boolean }[] = [];
    let fullRunning = false;
    let released = false;
    let open: (() => void) | undefined;
    const run: LaneRunner = async (batch, signal, hooks) => {
      hooks.start();
      if (batch.kind !== "full") {
        batches.push({ batch, during: fullRunning });
        return ok;
      }
      batches.push({ batch, during: false });
      if (released) return ok;
      fullRunning = true;
      await Promise.race([new Promise<void>((r) => (open = r)), new Promise((r) => signal.addEventListener("abort", r, { once: true }))]);
      fullRunning = false;
      return signal.aborted ? { ...ok, outcome: "cancelled" } : ok;
    };
    const incrementals = (during: boolean) =>
      batches.filter((b) => b.batch.kind === "incremental" && b.during === during).flatMap((b) => (b.batch.kind === "full" ? [] : [...b.batch.entries.keys()]));
    const release = (): void => {
      released = true;
      open?.();
    };
    return { run, batches, release, fullStarted: () => batches.some((b) => b.batch.kind === "full"), incrementals };
  }

  test("changes that arrive while a full sync runs are sent at once beside it, and sent again after it (its --delete-delay may undo them)", async () => {
    const t = slowFullTarget();
    const events: LaneEvent[] = [];
    const L = lane("t", t.run, events);
    L.requestFull("initial sync");
    await until(t.fullStarted, "the full sync to start");
    feed([L], [file("a.txt"), { path: "new-dir", tree: true }, { path: "still-open", tree: false, write: "open" }, { path: "moved", tree: true, renamedFrom: "old" }]);
    await until(() => events.some((e) => e.type === "early-run-done"), "an early send");
    expect(t.incrementals(true).sort()).toEqual(["a.txt", "new-dir"]); // not the open file, not the rename
    expect(events.find((e) => e.type === "early-run-done")).toMatchObject({ target: "t", run: { kind: "incremental", reason: "early, during a full sync", paths: 2, outcome: "ok" } });
    // Held all the same: the lane is not caught up until they went out after the full sync.
    expect(L.pending()).toBeGreaterThan(0);
    expect(L.idle()).toBe(false);
    feed([L], [file("b.txt")]);
    await until(() => t.incrementals(true).includes("b.txt"), "the next early send");
    t.release();
    await until(() => L.idle(), "the lane to go idle", 10_000);
    expect(t.incrementals(false)).toEqual(expect.arrayContaining(["a.txt", "new-dir", "b.txt", "moved"]));
    expect(L.pending()).toBe(0);
    // No early send without a full sync in flight.
    const before = t.batches.length;
    feed([L], [file("c.txt")]);
    await until(() => L.idle() && t.incrementals(false).includes("c.txt"), "c.txt");
    expect(t.batches.slice(before).every((b) => !b.during)).toBe(true);
    expect(events.filter((e) => e.type === "early-run-done")).toHaveLength(2);
  });

  test("past EARLY_MAX_PATHS a full sync gets no more early sends; a halted lane sends none", async () => {
    const t = slowFullTarget();
    const L = lane("t", t.run);
    L.requestFull("schedule");
    await until(t.fullStarted, "the full sync to start");
    feed([L], Array.from({ length: EARLY_MAX_PATHS + 1 }, (_, i) => file(`storm/${i}`)));
    feed([L], [file("after-storm")]);
    await sleep(50);
    expect(t.incrementals(true)).toEqual([]);
    t.release();
    await until(() => L.idle(), "the lane to go idle", 10_000);

    const h = slowFullTarget();
    const H = lane("h", h.run);
    H.requestFull("schedule");
    await until(h.fullStarted, "the full sync to start");
    H.halt("max-delete", "test");
    feed([H], [file("x")]);
    await sleep(50);
    expect(h.incrementals(true)).toEqual([]);
    await H.finishStop(100);
  });
});

describe("a target that comes back", () => {
  // Backoff of a minute: only the probe can bring the retry within the test.
  const slowBackoff: BatcherConfig = { ...config, backoffInitialMs: 60_000, backoffMaxMs: 60_000 };
  const timedOut: BatchResult = { outcome: "transient", exitCode: 30, durationMs: 1, messages: ["[sender] io timeout after 60 seconds -- exiting"] };

  function probedLane(answer: () => BatchResult, probe: () => Promise<boolean>) {
    const t = fakeTarget(answer);
    const probes: number[] = [];
    const L = startLane({
      key: "t",
      config: slowBackoff,
      repair,
      run: t.run,
      emit: () => undefined,
      probeEveryMs: 10,
      probe: () => {
        probes.push(performance.now());
        return probe();
      },
    });
    return { t, L, probes };
  }

  test("after a refused connection the lane probes the daemon and retries as soon as it accepts, not at the end of its backoff", async () => {
    let up = false;
    const { t, L, probes } = probedLane(() => (up ? ok : refused), () => Promise.resolve(up));
    feed([L], [file("a")]);
    await until(() => probes.length >= 3, "a few probes while the daemon is down");
    expect(t.batches).toHaveLength(1);
    up = true;
    await until(() => L.idle() && L.pending() === 0, "the retry once the daemon accepts", 2000);
    expect(t.paths()).toEqual(["a", "a"]);
  });

  test("a probe that says yes while rsync still cannot connect is believed once, then the backoff decides", async () => {
    const { t, L, probes } = probedLane(() => refused, () => Promise.resolve(true));
    feed([L], [file("a")]);
    await until(() => t.batches.length === 2, "the probe's one retry");
    await sleep(150);
    expect(t.batches).toHaveLength(2);
    expect(probes).toHaveLength(1);
    await L.finishStop(10);
  });

  test("a run that connected and then failed (an I/O timeout) is not probed for", async () => {
    const { t, L, probes } = probedLane(() => timedOut, () => Promise.resolve(true));
    feed([L], [file("a")]);
    await until(() => t.batches.length === 1, "the first run");
    await sleep(100);
    expect(probes).toHaveLength(0);
    expect(t.batches).toHaveLength(1);
    L.beginStop();
    await L.finishStop(10);
  });
});

describe("full syncs count what the events never reported", () => {
  // A full sync's runner reporting `changed` paths, as rsync's itemized output does.
  function reporting(changed: () => readonly string[]): LaneRunner {
    return async (_batch, _signal, hooks) => {
      hooks.start();
      for (const path of changed()) hooks.changed?.({ op: "updated", path });
      return ok;
    };
  }

  test("paths the events had pending are not repairs; the others are counted, sampled and warned about", async () => {
    const events: LaneEvent[] = [];
    let changed: readonly string[] = [];
    // A long delay keeps "pending.txt" waiting when the full sync runs.
    const L = startLane({ key: "t", config: { ...config, delayMs: 60_000 }, repair, run: reporting(() => changed), emit: (e) => events.push(e) });
    feed([L], [file("pending.txt"), { path: "newdir", tree: true }]);
    changed = ["pending.txt", "newdir/inside.txt", "edited-on-replica.txt", "gone/a", "gone/b"];
    L.requestFull("schedule");
    await until(() => events.some((e) => e.type === "run-done"), "the full sync");
    const done = events.find((e) => e.type === "run-done");
    expect(done).toMatchObject({ run: { kind: "full", reason: "schedule", repaired: 3 } });
    expect(events.find((e) => e.type === "repaired")).toMatchObject({ target: "t", reason: "schedule", count: 3, sample: ["edited-on-replica.txt", "gone/a", "gone/b"] });
    await L.finishStop(100);
  });

  test("after a successful full sync, the paths it covered are forgotten: the next one counts them", async () => {
    const events: LaneEvent[] = [];
    let changed: readonly string[] = [];
    const L = startLane({ key: "t", config, repair, run: reporting(() => changed), emit: (e) => events.push(e) });
    feed([L], [file("a.txt")]);
    await until(() => L.idle(), "a.txt sent");
    changed = ["a.txt"];
    L.requestFull("schedule");
    await until(() => events.filter((e) => e.type === "run-done").length === 2, "the full sync");
    expect(events.filter((e) => e.type === "run-done").at(-1)).toMatchObject({ run: { kind: "full", repaired: 1 } });
    await L.finishStop(100);
  });

  test("a full sync that succeeded forgets the pending paths it covered: the next full sync counts them", async () => {
    const events: LaneEvent[] = [];
    const L = startLane({ key: "t", config: { ...config, delayMs: 60_000 }, repair, run: reporting(() => ["pending.txt"]), emit: (e) => events.push(e) });
    feed([L], [file("pending.txt")]);
    L.requestFull("schedule");
    await until(() => events.filter((e) => e.type === "run-done").length === 1, "the first full sync");
    L.requestFull("schedule");
    await until(() => events.filter((e) => e.type === "run-done").length === 2, "the second full sync");
    const repaired = events.flatMap((e) => (e.type === "run-done" ? [e.run.repaired] : []));
    expect(repaired).toEqual([0, 1]);
    await L.finishStop(100);
  });

  test("the initial sync counts nothing", async () => {
    const events: LaneEvent[] = [];
    const L = startLane({ key: "t", config, repair, run: reporting(() => ["a", "b"]), emit: (e) => events.push(e) });
    L.requestFull("initial sync");
    await until(() => events.some((e) => e.type === "run-done"), "the initial sync");
    const done = events.find((e) => e.type === "run-done");
    expect(done?.type === "run-done" && done.run.repaired).toBeUndefined();
    expect(events.some((e) => e.type === "repaired")).toBe(false);
    await L.finishStop(100);
  });
});

describe("the adaptive default schedule", () => {
  test("the longest interval until a full sync was measured, then its CPU time over 2 % (at least 5 minutes)", async () => {
    const events: LaneEvent[] = [];
    const run: LaneRunner = async (_b, _s, hooks) => {
      hooks.start();
      return { ...ok, cpuSeconds: 8 };
    };
    const L = startLane({ key: "t", config, repair, run, adaptive: true, emit: (e) => events.push(e) });
    const scheduled = () => events.filter((e): e is Extract<LaneEvent, { type: "full-sync-scheduled" }> => e.type === "full-sync-scheduled");
    expect(scheduled()).toHaveLength(1);
    expect((scheduled()[0]?.nextAt ?? 0) - Date.now()).toBeGreaterThan(14 * 60_000);
    L.requestFull("initial sync");
    await until(() => scheduled().length === 2, "the schedule after the full sync");
    const next = (scheduled()[1]?.nextAt ?? 0) - (scheduled()[1]?.at ?? 0);
    expect(next).toBe(400_000); // 8 s of CPU: every 400 s is 2 % of one core
    L.beginStop();
    await L.finishStop(100);
  });
});
