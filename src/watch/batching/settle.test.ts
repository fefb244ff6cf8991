import { describe, expect, test } from "vitest";
import type { SourceEvent } from "../sources/source.ts";
import { buildExcludeMatcher } from "./exclude-match.ts";
import { NOTHING_SETTLING, noteSettleEvents, settleWakeAt, takeSettled, type SettleState } from "./settle.ts";

const SETTLE = 1000;
const none = buildExcludeMatcher([]);
const ev = (type: SourceEvent["type"], path: string, isDir = false): SourceEvent => ({ type, path, isDir });
const note = (s: SettleState, events: SourceEvent[], now: number): SettleState => noteSettleEvents(s, events, now, SETTLE, none);
const armed = (s: SettleState): Record<string, number> => Object.fromEntries(s.due);

describe("a file written and kept open", () => {
  test("is sent one settle time after its first write, not at once, and not pushed back by later writes", () => {
    let s = note(NOTHING_SETTLING, [ev("modify", "app.log")], 0);
    expect(armed(s)).toEqual({ "app.log": 1000 });
    expect(settleWakeAt(s)).toBe(1000);
    expect(takeSettled(s, 0).changes).toEqual([]); // a write alone does not send at once
    for (let t = 100; t < 1000; t += 100) s = note(s, [ev("modify", "app.log")], t);
    expect(settleWakeAt(s)).toBe(1000); // appends every 100 ms do not postpone it
    expect(takeSettled(s, 999).changes).toEqual([]);
    const taken = takeSettled(s, 1000);
    expect(taken.changes).toEqual([{ path: "app.log", tree: false, write: "closed" }]);
    expect(taken.state).toBe(NOTHING_SETTLING);
  });

  test("is sent again every settle time while writes continue", () => {
    let s = NOTHING_SETTLING;
    const sent: number[] = [];
    for (let t = 0; t <= 5000; t += 100) {
      const due = settleWakeAt(s);
      if (due !== undefined && t >= due) {
        const taken = takeSettled(s, t);
        s = taken.state;
        if (taken.changes.length > 0) sent.push(t);
      }
      s = note(s, [ev("modify", "app.log")], t);
    }
    expect(sent).toEqual([1000, 2000, 3000, 4000, 5000]); // re-armed by the first write after each send
  });

  test("a close sends it on the normal path and disarms the timer; so does a delete or a move away", () => {
    const s = note(NOTHING_SETTLING, [ev("modify", "a"), ev("modify", "b"), ev("modify", "c"), ev("modify", "d")], 0);
    const after = note(s, [ev("change", "a"), ev("delete", "b"), ev("move-from", "c")], 10);
    expect(armed(after)).toEqual({ d: 1000 });
    expect(note(NOTHING_SETTLING, [ev("modify", "a"), ev("change", "a")], 0)).toEqual(NOTHING_SETTLING); // written and closed in one read
    expect(armed(note(NOTHING_SETTLING, [ev("change", "a"), ev("modify", "a")], 0))).toEqual({ a: 1000 }); // reopened after its close
  });

  test("excluded paths and other events arm nothing, and leave the state as it was", () => {
    const excluded = buildExcludeMatcher(["*.tmp"]);
    const events = [ev("modify", "x.tmp"), ev("attrib", "y"), ev("create", "z"), ev("create-dir", "d", true)];
    expect(noteSettleEvents(NOTHING_SETTLING, events, 0, SETTLE, excluded)).toBe(NOTHING_SETTLING);
  });

  test("paths are due in the order they were armed; only those due are taken", () => {
    let s = note(NOTHING_SETTLING, [ev("modify", "first")], 0);
    s = note(s, [ev("modify", "second")], 400);
    s = note(s, [ev("modify", "first")], 500); // already armed: keeps its place and time
    const taken = takeSettled(s, 1200);
    expect(taken.changes.map((c) => c.path)).toEqual(["first"]);
    expect(armed(taken.state)).toEqual({ second: 1400 });
    expect(settleWakeAt(taken.state)).toBe(1400);
    expect(takeSettled(taken.state, 1200, true).changes.map((c) => c.path)).toEqual(["second"]); // forced (the watch stops)
  });
});
