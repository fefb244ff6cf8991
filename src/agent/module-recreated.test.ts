import { describe, expect, test } from "vitest";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { ApplyResult } from "../resources/plan-types.ts";
import { findRecreatedModules } from "./module-recreated.ts";

// Only the fields findRecreatedModules reads.
const m = {
  daemons: [{ name: "d1", address: "127.0.0.1", port: 8730, config: "/etc/rsyncd.conf", modules: [{ name: "data", path: "/srv/replica" }, { name: "other", path: "/srv/other" }] }],
  watches: [
    { name: "push", dir: "/state/watches/push", targets: [{ key: "rsync://127.0.0.1:8730/data", target: { kind: "daemon", host: "127.0.0.1", port: 8730, module: "data" } }] },
    { name: "away", dir: "/state/watches/away", targets: [{ key: "rsync://10.0.0.9:8730/data", target: { kind: "daemon", host: "10.0.0.9", port: 8730, module: "data" } }] },
  ],
} as unknown as ResolvedManifest;

const result = (kind: string, id: string, op: string, status = "changed") => ({ change: { kind, id, op }, status }) as unknown as ApplyResult;

describe("findRecreatedModules", () => {
  test("a module directory created under a running daemon is recreated; the local watch into it is named", () => {
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "create")])).toEqual([
      { daemon: "d1", module: "data", path: "/srv/replica", watches: [{ name: "push", dir: "/state/watches/push", targets: ["rsync://127.0.0.1:8730/data"] }] },
    ]);
  });

  test("created with its daemon (a first apply), failed, or only chowned: not a recreation", () => {
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "create"), result("daemon", "daemon:d1", "create")])).toEqual([]);
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "create", "failed")])).toEqual([]);
    // The daemon's start failed (a password variable unset): it was not running, nothing was lost.
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "create"), result("daemon", "daemon:d1", "create", "failed")])).toEqual([]);
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "create"), result("file", "file:/etc/rsyncd.conf", "update", "failed")])).toEqual([]);
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "update")])).toEqual([]);
    // A module just added to the manifest: rsyncd.conf changed with it.
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/replica", "create"), result("file", "file:/etc/rsyncd.conf", "update")])).toEqual([]);
  });

  test("a module no local watch replicates into: said and counted, nothing to ask", () => {
    expect(findRecreatedModules(m, [result("directory", "directory:/srv/other", "create")])).toEqual([{ daemon: "d1", module: "other", path: "/srv/other", watches: [] }]);
  });
});
