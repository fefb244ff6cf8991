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

test("runs are counted by kind and outcome from log.jsonl lines; bytes include rename steps; other lines are skipped", () => {
  const t = tallyLines({ runs: new Map(), bytes: 0 }, [
    JSON.stringify({ at: "t", type: "run", kind: "full", reason: "initial sync", paths: 0, bytes: 100, durationMs: 1, exitCode: 0, outcome: "ok" }),
    JSON.stringify({ at: "t", type: "run", kind: "incremental", reason: "changes", paths: 2, bytes: 10, durationMs: 1, exitCode: 0, outcome: "ok", renames: [{ from: "a", to: "b", outcome: "ok", exitCode: 0, bytes: 5 }] }),
    JSON.stringify({ at: "t", type: "run", kind: "incremental", reason: "changes", paths: 1, bytes: null, durationMs: 1, exitCode: 10, outcome: "transient" }),
    JSON.stringify({ at: "t", type: "watching", watcher: "inotifywait", watches: 3 }),
    '{"torn',
  ]);
  expect(Object.fromEntries(t.runs)).toEqual({ "full/ok": 1, "incremental/ok": 1, "incremental/transient": 1 });
  expect(t.bytes).toBe(115);
});
