import { expect, test } from "vitest";
import { parseInterval, parseListen } from "./flags.ts";
import { tallyLines } from "./run-tally.ts";

test("--listen: ADDRESS:PORT, [V6]:PORT, or a bare PORT on loopback", () => {
  expect(parseListen("127.0.0.1:9873")).toEqual({ host: "127.0.0.1", port: 9873 });
  expect(parseListen("0.0.0.0:9873")).toEqual({ host: "0.0.0.0", port: 9873 });
  expect(parseListen("[::1]:9873")).toEqual({ host: "::1", port: 9873 });
  expect(parseListen("9873")).toEqual({ host: "127.0.0.1", port: 9873 });
  expect(parseListen("localhost:9873")).toEqual({ host: "localhost", port: 9873 });
  for (const bad of ["", ":9873", "127.0.0.1", "127.0.0.1:70000", "::1:9873", "host:port"]) expect(parseListen(bad), bad).toBeUndefined();
});

test("--interval: a whole number with ms, s, m or h", () => {
  expect([parseInterval("60s"), parseInterval("5m"), parseInterval("1h"), parseInterval("1500ms")]).toEqual([60_000, 300_000, 3_600_000, 1500]);
  for (const bad of ["60", "1.5s", "s", "-5s", "5 m"]) expect(parseInterval(bad), bad).toBeUndefined();
});

test("runs are counted by target, kind and outcome from log.jsonl lines; bytes include rename steps; other lines are skipped", () => {
  const t = tallyLines(new Map(), [
    JSON.stringify({ at: "t", type: "run", target: "/a", kind: "full", reason: "initial sync", paths: 0, bytes: 100, durationMs: 1, exitCode: 0, outcome: "ok" }),
    JSON.stringify({ at: "t", type: "run", target: "/a", kind: "incremental", reason: "changes", paths: 2, bytes: 10, durationMs: 1, exitCode: 0, outcome: "ok", renames: [{ from: "a", to: "b", outcome: "ok", exitCode: 0, bytes: 5 }] }),
    JSON.stringify({ at: "t", type: "run", target: "/b", kind: "incremental", reason: "changes", paths: 1, bytes: null, durationMs: 1, exitCode: 10, outcome: "transient" }),
    JSON.stringify({ at: "t", type: "run", kind: "full", reason: "schedule", paths: 0, bytes: 7, durationMs: 1, exitCode: 0, outcome: "ok" }),
    JSON.stringify({ at: "t", type: "watching", watcher: "inotifywait", watches: 3 }),
    '{"torn',
  ]);
  expect(Object.fromEntries(t.get("/a")?.runs ?? [])).toEqual({ "full/ok": 1, "incremental/ok": 1 });
  expect(t.get("/a")?.bytes).toBe(115);
  expect(Object.fromEntries(t.get("/b")?.runs ?? [])).toEqual({ "incremental/transient": 1 });
  // A record of a watcher from before targets had lanes names none.
  expect(t.get("")).toEqual({ runs: new Map([["full/ok", 1]]), bytes: 7 });
  // Tallies add up: the same lines again double every count.
  expect(tallyLines(t, [JSON.stringify({ at: "t", type: "run", target: "/b", kind: "incremental", outcome: "transient", bytes: 1 })]).get("/b")?.runs.get("incremental/transient")).toBe(2);
});
