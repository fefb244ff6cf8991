import { describe, expect, test } from "vitest";
import { DEFAULT_BATCHER_CONFIG } from "../batching/batcher.ts";
import type { Batch, BatcherConfig, Change } from "../batching/types.ts";
import type { BatchResult } from "../rsync/batch.ts";
import type { LaneEvent } from "./events.ts";
import { startLane, type Lane, type LaneRunner } from "./lane.ts";

// Runs beside a long run in flight, as a lane carries them out: a stand-in target whose runs each
// wait for their own release, and which records, when a run starts, which runs are in flight.
// No processes, real (short) timers; no assertion on time, only on what ran beside what.

const config: BatcherConfig = { ...DEFAULT_BATCHER_CONFIG, quietMs: 2, maxWaitMs: 10 };
const repair = { initialMs: 60_000, maxMs: 60_000 };
const ok: BatchResult = { outcome: "ok", exitCode: 0, durationMs: 1, messages: [] };
const file = (path: string): Change => ({ path, tree: false, write: "closed" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

interface Run {
  readonly paths: string[];
  /** Paths of the runs in flight when this one started. */
  readonly beside: string[];
  ended: boolean;
  release: (result?: BatchResult) => void;
}

// A target whose runs of paths in `held` wait for release(); the others end at once.
function gatedTarget(held: (paths: readonly string[]) => boolean) {
  const runs: Run[] = [];
  const run: LaneRunner = async (batch: Batch, signal, hooks) => {
    hooks.start();
    const paths = batch.kind === "full" ? ["<full>"] : [...batch.entries.keys()].sort();
    let release!: (result?: BatchResult) => void;
    const released = new Promise<BatchResult>((r) => (release = (result = ok) => r(result)));
    const record: Run = { paths, beside: runs.filter((r) => !r.ended).flatMap((r) => r.paths), ended: false, release };
    runs.push(record);
    if (!held(paths)) release();
    const aborted = new Promise<BatchResult>((r) => signal.addEventListener("abort", () => r({ ...ok, outcome: "cancelled" }), { once: true }));
    const result = await Promise.race([released, aborted]);
    record.ended = true;
    return result;
  };
  const find = (path: string, nth = 0): Run | undefined => runs.filter((r) => r.paths.includes(path))[nth];
  return { run, runs, find };
}

function lane(run: LaneRunner, events: LaneEvent[], overlapAfterMs = 20): Lane {
  return startLane({ key: "t", config, repair, run, emit: (e) => events.push(e), overlapAfterMs });
}

describe("runs beside a long run in flight", () => {
  test("small changes to other paths go out beside it, reported as such; the same path waits, and the next run waits for the run beside", async () => {
    const events: LaneEvent[] = [];
    const t = gatedTarget((paths) => paths.includes("big") || paths.includes("s2"));
    const l = lane(t.run, events);
    l.add([file("big")], performance.now());
    await until(() => t.find("big") !== undefined, "the big run");

    l.add([file("s1")], performance.now());
    await until(() => t.find("s1")?.ended === true, "s1 beside the big run");
    expect(t.find("s1")?.beside).toEqual(["big"]);
    expect(events.filter((e) => e.type === "early-run-done").map((e) => e.type === "early-run-done" && e.run.reason)).toEqual(["beside a run in flight"]);

    // big changed again, and s2 arrived: s2 goes beside, big waits for the run in flight.
    l.add([file("big"), file("s2")], performance.now());
    await until(() => t.find("s2") !== undefined, "s2 beside the big run");
    expect(t.find("s2")?.paths).toEqual(["s2"]);
    expect(l.pending()).toBe(3); // big in flight, big again, s2 beside

    t.find("big")?.release();
    await until(() => t.find("big")?.ended === true, "the big run's end");
    // The next normal run (big again) waits for the run beside to end.
    await sleep(50);
    expect(t.find("big", 1)).toBeUndefined();
    t.find("s2")?.release();
    await until(() => t.find("big", 1) !== undefined, "the next run");
    expect(t.find("big", 1)?.beside).toEqual([]);
    t.find("big", 1)?.release();
    await until(() => l.idle(), "idle");
    // No two runs were ever in flight over the same path.
    for (const r of t.runs) for (const p of r.paths) expect(r.beside).not.toContain(p);
  });

  test("a run beside that fails gives its paths back to the next normal run, and none starts beside again meanwhile", async () => {
    const events: LaneEvent[] = [];
    const t = gatedTarget((paths) => paths.includes("big") || paths.includes("s1"));
    const l = lane(t.run, events);
    l.add([file("big")], performance.now());
    await until(() => t.find("big") !== undefined, "the big run");
    l.add([file("s1")], performance.now());
    await until(() => t.find("s1") !== undefined, "s1 beside");
    t.find("s1")?.release({ outcome: "transient", exitCode: 10, durationMs: 1, messages: ["connection reset"] });
    await until(() => t.find("s1")?.ended === true, "s1's end");
    expect(l.pending()).toBe(2);
    l.add([file("s2")], performance.now());
    await sleep(100);
    expect(t.runs.map((r) => r.paths)).toEqual([["big"], ["s1"]]); // not retried beside, nothing new beside
    t.find("big")?.release();
    await until(() => t.find("s1", 1) !== undefined, "s1 again, in the next normal run");
    expect(t.find("s1", 1)?.paths).toEqual(["s1", "s2"]);
    expect(t.find("s1", 1)?.beside).toEqual([]);
    t.find("s1", 1)?.release();
    await until(() => l.idle(), "idle");
    expect(l.pending()).toBe(0);
  });

  test("a halt cancels the run beside too; its paths stay counted as pending and nothing runs again", async () => {
    const events: LaneEvent[] = [];
    const t = gatedTarget(() => true);
    const l = lane(t.run, events);
    l.add([file("big")], performance.now());
    await until(() => t.find("big") !== undefined, "the big run");
    l.add([file("s1")], performance.now());
    await until(() => t.find("s1") !== undefined, "s1 beside");
    l.halt("source-missing", "the source is gone");
    await until(() => l.halted() && t.runs.every((r) => r.ended), "halted, every run ended");
    expect(l.pending()).toBe(2);
    l.add([file("s2")], performance.now());
    await sleep(100);
    expect(t.runs).toHaveLength(2);
    expect(l.pending()).toBe(3);
  });

  test("with overlap disabled, changes wait for the run in flight as before", async () => {
    const events: LaneEvent[] = [];
    const t = gatedTarget((paths) => paths.includes("big"));
    const l = lane(t.run, events, Infinity);
    l.add([file("big")], performance.now());
    await until(() => t.find("big") !== undefined, "the big run");
    l.add([file("s1")], performance.now());
    await sleep(100);
    expect(t.find("s1")).toBeUndefined();
    t.find("big")?.release();
    await until(() => t.find("s1") !== undefined, "s1 after the big run");
    expect(t.find("s1")?.beside).toEqual([]);
    await until(() => l.idle(), "idle");
    expect(events.some((e) => e.type === "early-run-done")).toBe(false);
  });
});
