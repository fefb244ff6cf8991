import { describe, expect, test } from "vitest";
import { crashLooping, initialAgentState, stepAgent, type AgentAction, type AgentInput, type AgentPolicy, type AgentState } from "./decide.ts";
import { DEFAULT_RESTART_POLICY } from "./restarts.ts";

const BASE: AgentPolicy = { intervalMs: 60_000, git: false, restart: DEFAULT_RESTART_POLICY, retry: { initialMs: 1000, maxMs: 300_000 } };

// Feeds inputs one after the other; returns the last state and every action, in order.
function run(inputs: readonly AgentInput[], policy = POLICY, from?: AgentState): { state: AgentState; actions: AgentAction[]; wakeAt: number } {
  let state = from ?? initialAgentState(0, policy);
  const actions: AgentAction[] = [];
  let wakeAt = Infinity;
  for (const input of inputs) {
    const step = stepAgent(state, input, policy);
    state = step.state;
    actions.push(...step.actions);
    wakeAt = step.wakeAt;
  }
  return { state, actions, wakeAt };
}

const POLICY = BASE;
const reconciles = (actions: readonly AgentAction[]) => actions.filter((a) => a.type === "reconcile");
const done = (now: number, over: Partial<Extract<AgentInput, { type: "reconciled" }>> = {}): AgentInput => ({ type: "reconciled", started: [], failedStarts: [], failed: 0, now, ...over });

describe("the agent's decisions", () => {
  test("start reconciles at once and wakes for the interval tick, which reconciles again", () => {
    const r = run([{ type: "start", now: 1000 }]);
    expect(reconciles(r.actions)).toEqual([{ type: "reconcile", reasons: ["start"], hold: [], commit: undefined }]);
    expect(r.wakeAt).toBe(61_000);
    const tick = run([done(1500), { type: "wake", now: 61_000 }], POLICY, r.state);
    expect(reconciles(tick.actions)).toEqual([{ type: "reconcile", reasons: ["interval"], hold: [], commit: undefined }]);
    expect(tick.wakeAt).toBe(121_000);
  });

  test("one reconcile at a time: what asks meanwhile is queued and served right after, once", () => {
    const r = run([
      { type: "start", now: 0 },
      { type: "trigger", reason: "manifest changed", fetch: false, now: 10 },
      { type: "trigger", reason: "SIGHUP", fetch: false, now: 20 },
      { type: "trigger", reason: "manifest changed", fetch: false, now: 30 },
    ]);
    expect(reconciles(r.actions)).toHaveLength(1);
    const after = run([done(40)], POLICY, r.state);
    expect(reconciles(after.actions)).toEqual([{ type: "reconcile", reasons: ["manifest changed", "SIGHUP"], hold: [], commit: undefined }]);
    expect(reconciles(run([done(50)], POLICY, after.state).actions)).toEqual([]);
  });

  test("a process that ran a while is started again at once", () => {
    const r = run([{ type: "start", now: 0 }, done(100, { started: ["watcher:w"] }), { type: "process-died", id: "watcher:w", pid: 42, startedAt: 100, now: 600_000 }]);
    expect(reconciles(r.actions).at(-1)).toEqual({ type: "reconcile", reasons: ["watcher:w died"], hold: [], commit: undefined });
    expect(r.actions).toContainEqual({ type: "log", level: "warn", resource: "watcher:w", msg: "watcher:w died (pid 42, ran 599.9s); starting it again" });
  });

  test("a process that keeps dying soon after its start is held back 1 s, 2 s, 4 s … and reported crash-looping", () => {
    const POLICY = { ...BASE, intervalMs: 1e12 }; // no tick gets in the way of the waits measured here
    let r = run([{ type: "start", now: 0 }, done(100, { started: ["watcher:w"] })], POLICY);
    let now = 200_000;
    const gaps: number[] = [];
    // It ran a long time, then dies, and every restart dies 500 ms later.
    r = run([{ type: "process-died", id: "watcher:w", pid: 1, startedAt: 100, now }], POLICY, r.state);
    expect(reconciles(r.actions)).toHaveLength(1);
    for (let i = 0; i < 12; i++) {
      r = run([done(now + 100, { started: ["watcher:w"] }), { type: "process-died", id: "watcher:w", pid: 2 + i, startedAt: now + 100, now: now + 600 }], POLICY, r.state);
      expect(reconciles(r.actions)).toEqual([]);
      const wake = r.wakeAt;
      gaps.push(wake - (now + 600));
      // Anything else that reconciles meanwhile holds it back.
      const other = run([{ type: "trigger", reason: "SIGHUP", fetch: false, now: now + 700 }], POLICY, r.state);
      expect(reconciles(other.actions)[0]).toMatchObject({ hold: ["watcher:w"] });
      r = run([{ type: "wake", now: wake }], POLICY, r.state);
      expect(reconciles(r.actions)).toEqual([{ type: "reconcile", reasons: ["backoff over: start watcher:w"], hold: [], commit: undefined }]);
      now = wake;
    }
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000]);
    expect(crashLooping(r.state, now, POLICY)).toEqual([{ id: "watcher:w", deaths: 12, nextRestartAt: undefined }]);
    // Running stably for a while ends the streak.
    const stable = run([done(now + 100, { started: ["watcher:w"] })], POLICY, r.state).state;
    expect(crashLooping(stable, now + 100 + 9_000, POLICY)).toHaveLength(1);
    expect(crashLooping(stable, now + 100 + 10_000, POLICY)).toEqual([]);
    expect(stable.tracks.get("watcher:w")?.restarts).toBe(13);
    // A start of its own (a new spec) is not a restart: the next quick death starts a new streak.
    const fresh = run([done(now + 200, { started: ["watcher:w"] }), { type: "process-died", id: "watcher:w", pid: 99, startedAt: now + 200, now: now + 700 }], POLICY, stable);
    expect(fresh.wakeAt - (now + 700)).toBe(1000);
  });

  test("a start that fails counts as a quick death: held back with a growing wait", () => {
    let r = run([{ type: "start", now: 0 }]);
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      r = run([done(now + 300, { failedStarts: ["watcher:w"] })], POLICY, r.state);
      waits.push(r.wakeAt - (now + 300));
      now = r.wakeAt;
      r = run([{ type: "wake", now }], POLICY, r.state);
      expect(reconciles(r.actions)).toHaveLength(1);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000]);
    expect(r.actions).toEqual([{ type: "reconcile", reasons: ["backoff over: start watcher:w"], hold: [], commit: undefined }]);
  });

  test("failed changes and failed reconciles are retried with backoff; a trigger still runs at once", () => {
    let r = run([{ type: "start", now: 0 }, done(100, { failed: 1 })]);
    expect(r.wakeAt).toBe(1100);
    r = run([{ type: "wake", now: 1100 }, { type: "reconcile-failed", message: "locked", now: 1200 }], POLICY, r.state);
    expect(r.wakeAt).toBe(3200);
    r = run([{ type: "wake", now: 2000 }], POLICY, r.state);
    expect(reconciles(r.actions)).toEqual([]);
    r = run([{ type: "trigger", reason: "manifest changed", fetch: false, now: 2100 }], POLICY, r.state);
    expect(reconciles(r.actions)).toHaveLength(1);
    r = run([done(2200)], POLICY, r.state);
    expect(r.state.failures).toBe(0);
    expect(r.wakeAt).toBe(60_000);
  });

  test("--git: the tick fetches; a moved ref reconciles that commit, an unmoved one repairs drift", () => {
    const git = { ...POLICY, git: true };
    let r = run([{ type: "start", now: 0, commit: "a".repeat(40) }, done(100)], git);
    expect(reconciles(r.actions)[0]).toMatchObject({ commit: "a".repeat(40) });
    r = run([{ type: "wake", now: 60_000 }], git, r.state);
    expect(r.actions).toEqual([{ type: "fetch" }]);
    r = run([{ type: "fetched", commit: "a".repeat(40), now: 60_100 }], git, r.state);
    expect(reconciles(r.actions)).toEqual([{ type: "reconcile", reasons: ["interval"], hold: [], commit: "a".repeat(40) }]);
    r = run([done(60_200), { type: "wake", now: 120_000 }, { type: "fetched", commit: "b".repeat(40), now: 120_100 }], git, r.state);
    expect(reconciles(r.actions)).toEqual([{ type: "reconcile", reasons: ["git: moved to bbbbbbbbbbbb"], hold: [], commit: "b".repeat(40) }]);
  });

  test("stop waits for the reconcile in flight, then exits; idle exits at once", () => {
    const r = run([{ type: "start", now: 0 }, { type: "stop", now: 10 }]);
    expect(r.actions.filter((a) => a.type === "exit")).toEqual([]);
    expect(run([{ type: "process-died", id: "daemon:d", pid: 1, startedAt: 0, now: 20 }], POLICY, r.state).actions.filter((a) => a.type === "reconcile")).toEqual([]);
    expect(run([done(30)], POLICY, r.state).actions).toEqual([{ type: "exit" }]);
    expect(run([{ type: "stop", now: 0 }]).actions).toEqual([{ type: "exit" }]);
  });
});
