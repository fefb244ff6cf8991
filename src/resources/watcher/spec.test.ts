import { expect, test } from "vitest";
import { parseManifest } from "../../manifest/parse.ts";
import { resolveManifest } from "../../manifest/resolve.ts";
import { buildWatchSpec } from "./spec.ts";

// The watcher runs from its spec alone: a manifest setting it does not carry never reaches it.

test("the manifest's settle reaches the watcher's spec", () => {
  const r = parseManifest("version: 1\nstateDir: /state\nwatches:\n  push:\n    source: /srv/data\n    target: /backup/data\n    settle: 1500ms\n", "m.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const m = resolveManifest(r.manifest, { manifestFile: "/etc/rtsync/m.yaml", node: "n", uid: 0, env: {}, homeDir: "/root" });
  const watch = m.watches[0];
  if (watch === undefined) throw new Error("no watch");
  expect(buildWatchSpec(watch, { rsync: "/usr/bin/rsync" }).settleMs).toBe(1500);
});
