import { describe, expect, it } from "vitest";
import { hashWatchSpec, parseWatchSpec, renderWatchSpec, type WatchSpec } from "./watch-spec.ts";

const valid: WatchSpec = {
  name: "push",
  source: "/srv/www",
  targets: [
    {
      key: "rsync://127.0.0.1:873/www",
      target: "rsync://u@127.0.0.1:873/www",
      daemonTarget: true,
      passwordFile: "/var/lib/rtsync/watches/push/password",
      rsyncArgs: [],
      fullSyncSchedule: "0 * * * *",
    },
    { key: "/srv/copy", target: "/srv/copy", daemonTarget: false, rsyncArgs: ["--chmod=F644"], maxDelete: 10 },
  ],
  exclude: ["*.tmp"],
  delayMs: 0,
  watcher: "auto",
  initialSync: true,
  stateDir: "/var/lib/rtsync/watches/push",
  rsync: "/usr/bin/rsync",
};

describe("watch spec", () => {
  it("reads back what the reconciler writes, with and without the optional keys", () => {
    expect(parseWatchSpec("/s.json", renderWatchSpec(valid))).toEqual(valid);
    const bare: WatchSpec = { ...valid, targets: [{ key: "/srv/copy", target: "/srv/copy", daemonTarget: false, rsyncArgs: [] }] };
    expect(parseWatchSpec("/s.json", renderWatchSpec(bare))).toEqual(bare);
  });

  it("hashes the same spec the same on both sides (the reconciler's object, the watcher's parsed file)", () => {
    expect(hashWatchSpec(parseWatchSpec("/s.json", renderWatchSpec(valid)))).toBe(hashWatchSpec(valid));
    expect(hashWatchSpec({ ...valid, exclude: [] })).not.toBe(hashWatchSpec(valid));
    // One target's own settings are part of the spec: changing them restarts the watcher.
    const second = valid.targets[1];
    if (second === undefined) throw new Error("fixture");
    expect(hashWatchSpec({ ...valid, targets: [valid.targets[0] ?? second, { ...second, rsyncArgs: [] }] })).not.toBe(hashWatchSpec(valid));
  });

  it("a bad spec is one sentence naming the file and the first bad field", () => {
    expect(() => parseWatchSpec("/s.json", JSON.stringify({ ...valid, source: "www" }))).toThrow(
      "/s.json is not an rtsync watch spec (source: must be an absolute path); run `rtsync apply` to write it again",
    );
    expect(() => parseWatchSpec("/s.json", JSON.stringify({ ...valid, sourec: "/x" }))).toThrow(/is not an rtsync watch spec \(.*sourec/);
    expect(() => parseWatchSpec("/s.json", "{")).toThrow(/^\/s.json is not an rtsync watch spec \(it is not valid JSON: /);
    expect(() => parseWatchSpec("/s.json", "")).toThrow("/s.json is not an rtsync watch spec (it is empty); run `rtsync apply` to write it again");
    // V8's quote of the text around the error is left out: a document can hold a secret.
    expect(() => parseWatchSpec("/s.json", "SECRET-PW-42 x")).toThrow("/s.json is not an rtsync watch spec (it is not valid JSON: Unexpected token 'S'); run `rtsync apply` to write it again");
    expect(() => parseWatchSpec("/s.json", JSON.stringify({ ...valid, targets: [] }))).toThrow("/s.json is not an rtsync watch spec (targets: must be at least 1)");
  });
});
