import { describe, expect, it } from "vitest";
import { parseWatchSpec } from "./watch-spec-parse.ts";

const valid = {
  name: "push",
  source: "/srv/www",
  target: "rsync://u@127.0.0.1:873/www",
  daemonTarget: true,
  passwordFile: "/var/lib/rtsync/watches/push/password",
  exclude: ["*.tmp"],
  delayMs: 0,
  watcher: "auto",
  rsyncArgs: [],
  initialSync: true,
  fullSyncSchedule: "0 * * * *",
  stateDir: "/var/lib/rtsync/watches/push",
};

describe("parseWatchSpec", () => {
  it("accepts the spec the reconciler writes, with and without the optional keys", () => {
    expect(parseWatchSpec(valid)).toEqual({ ok: true, spec: valid });
    const { passwordFile: _p, fullSyncSchedule: _f, ...bare } = valid;
    expect(parseWatchSpec(bare)).toEqual({ ok: true, spec: bare });
  });

  it("names every bad, missing and unknown field", () => {
    const { stateDir: _s, ...rest } = valid;
    const result = parseWatchSpec({ ...rest, source: "www", delayMs: -1, watcher: "fanotify", exclude: [1], sourec: "/x" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message.split("; ")).toEqual([
      "source: must be an absolute path",
      "exclude: must be a list of strings",
      "delayMs: must be a whole number >= 0",
      "watcher: must be one of auto, inotify, inotifywait, chokidar, poll",
      "stateDir: is required",
      "sourec: unknown key",
    ]);
  });

  it("rejects what is not an object", () => {
    expect(parseWatchSpec([valid])).toEqual({ ok: false, message: "(root): must be an object" });
    expect(parseWatchSpec(null).ok).toBe(false);
  });
});
