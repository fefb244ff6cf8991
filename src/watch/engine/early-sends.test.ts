import { expect, test } from "vitest";
import type { Change } from "../batching/types.ts";
import { EARLY_MAX_PATHS, NO_EARLY_SENDS, stepEarlySends, type EarlySendsInput, type EarlySendsState } from "./early-sends.ts";

const file = (path: string): Change => ({ path, tree: false, write: "closed" });
const changed = (changes: readonly Change[], blocked = false): EarlySendsInput => ({ type: "changed", changes, blocked });

function fold(inputs: readonly EarlySendsInput[], from: EarlySendsState = NO_EARLY_SENDS) {
  let state = from;
  const runs: string[][] = [];
  for (const input of inputs) {
    const next = stepEarlySends(state, input);
    state = next.state;
    if (next.run !== undefined) runs.push([...next.run.entries.keys()]);
  }
  return { state, runs };
}

test("no full sync in flight: changes are not sent early", () => {
  expect(fold([changed([file("a")])])).toEqual({ state: NO_EARLY_SENDS, runs: [] });
});

test("during a full sync: the first change goes at once, what arrives meanwhile goes after it, one send at a time", () => {
  const { state, runs } = fold([{ type: "full-started" }, changed([file("a")]), changed([file("b")]), changed([file("c")]), { type: "run-done", halted: false, blocked: false }]);
  expect(runs).toEqual([["a"], ["b", "c"]]);
  expect(state).toMatchObject({ full: true, running: true, paths: new Map() });
});

test("open files, renamed directories and the root itself are not sent early", () => {
  const { runs } = fold([
    { type: "full-started" },
    changed([{ path: "open", tree: false, write: "open" }, { path: "new", tree: true, renamedFrom: "old" }, { path: "", tree: true }, file("x")]),
  ]);
  expect(runs).toEqual([["x"]]);
});

test("past EARLY_MAX_PATHS the full sync gets no more early sends; the next full sync starts afresh", () => {
  const storm = Array.from({ length: EARLY_MAX_PATHS + 1 }, (_, i) => file(`s/${i}`));
  const first = fold([{ type: "full-started" }, changed([file("a")]), changed(storm), { type: "run-done", halted: false, blocked: false }, changed([file("b")])]);
  expect(first.runs).toEqual([["a"]]);
  expect(first.state).toMatchObject({ gaveUp: true, running: false, paths: new Map() });
  const next = fold([{ type: "full-ended" }, { type: "full-started" }, changed([file("c")])], first.state);
  expect(next.runs).toEqual([["c"]]);
});

test("blocked (halted, stopping), halted runs and the full sync's end send nothing more", () => {
  expect(fold([{ type: "full-started" }, changed([file("a")], true)]).runs).toEqual([]);
  const halted = fold([{ type: "full-started" }, changed([file("a")]), changed([file("b")]), { type: "run-done", halted: true, blocked: false }]);
  expect(halted.runs).toEqual([["a"]]);
  expect(halted.state.paths.size).toBe(1);
  const ended = fold([{ type: "full-started" }, changed([file("a")]), changed([file("b")]), { type: "full-ended" }, { type: "run-done", halted: false, blocked: false }]);
  expect(ended.runs).toEqual([["a"]]);
  expect(fold([{ type: "full-started" }, changed([file("a")]), changed([file("b")]), { type: "halt" }]).state.paths.size).toBe(0);
});

test("never mutates the state it is given", () => {
  const start = stepEarlySends(NO_EARLY_SENDS, { type: "full-started" }).state;
  const running = stepEarlySends(start, changed([file("a")])).state;
  stepEarlySends(running, changed([file("b")]));
  expect(running.paths.size).toBe(0);
});
