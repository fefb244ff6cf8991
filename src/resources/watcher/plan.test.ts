import { expect, test } from "vitest";
import { parseManifest } from "../../manifest/parse.ts";
import { resolveManifest } from "../../manifest/resolve.ts";
import type { WatcherRecord } from "../../state/inventory.ts";
import type { PlanContext } from "../types.ts";
import { watcherKind } from "./index.ts";

// A running watcher with its own spec is left alone, unless it halted: then apply restarts it.

const YAML = `version: 1
stateDir: /state
watches:
  push:
    source: /srv/data
    target: /backup/data
    maxDelete: 500
`;

function desired() {
  const r = parseManifest(YAML, "m.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const m = resolveManifest(r.manifest, { manifestFile: "/m.yaml", node: "n1", uid: 0, env: {}, homeDir: "/root" });
  const [w] = watcherKind.build(m, { uid: 0, gid: 0, passwords: new Map(), tools: { rsync: "/usr/bin/rsync", setpriv: "/usr/bin/setpriv" } });
  if (w === undefined) throw new Error("no watcher built");
  return w;
}

const ctx = { manifest: "/m.yaml", owner: "", node: "n1" } as PlanContext;

test("maxDelete and setpriv reach the watcher's spec", () => {
  expect(desired().spec).toMatchObject({ targets: [{ key: "/backup/data", target: "/backup/data", daemonTarget: false, maxDelete: 500 }], setpriv: "/usr/bin/setpriv" });
});

test("a halted watcher is restarted by apply; a running one with its spec is not", () => {
  const w = desired();
  const record: WatcherRecord = {
    manifest: "/m.yaml",
    node: "n1",
    pid: 4242,
    hash: w.specHash,
    startedAt: "2026-01-01T00:00:00Z",
    match: ["__host", "/state"],
    detail: { specFile: w.specFile, spec: { ...w.spec } },
  };
  expect(watcherKind.plan(w, { record, running: true, unrecorded: [] }, ctx)).toBeUndefined();
  const change = watcherKind.plan(w, { record, running: true, unrecorded: [], halted: "source looks unmounted or emptied: /srv/data: it is empty and the target is not" }, ctx);
  expect(change).toMatchObject({
    op: "update",
    title: "watcher push: restart (halted: source looks unmounted or emptied: /srv/data: it is empty and the target is not; pid 4242)",
    action: "start",
    stop: [{ pid: 4242, why: "it halted" }],
  });
});

test("a job still run by a watcher process of its own (the layout before the host) is moved into the host", () => {
  const w = desired();
  const record: WatcherRecord = {
    manifest: "/m.yaml",
    node: "n1",
    pid: 4243,
    hash: w.specHash,
    startedAt: "2026-01-01T00:00:00Z",
    match: ["__watch", w.specFile],
    detail: { specFile: w.specFile, spec: { ...w.spec } },
  };
  const change = watcherKind.plan(w, { record, running: true, unrecorded: [] }, ctx);
  expect(change).toMatchObject({ op: "update", action: "start", stop: [], handover: { pid: 4243, match: ["__watch", w.specFile] } });
  expect(change?.title).toBe("watcher push: move into the watch host (pid 4243 runs it alone; handed over without a gap)");
});

test("a job the host runs with this spec but the inventory lost is adopted, not started again", () => {
  const w = desired();
  const info = { pid: 5000, argv: ["node", "watcher.js", "__host", "/state"], state: "S", ppid: 1, uid: 0, startTime: 77 };
  const change = watcherKind.plan(w, { running: false, unrecorded: [], hostRuns: info }, ctx);
  expect(change).toMatchObject({ op: "update", action: "adopt", adopt: { pid: 5000 }, title: "watcher push: adopt pid 5000 (running, but missing from the inventory)" });
});
