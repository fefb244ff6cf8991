import { mkdir, writeFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { freePort, loopbackManifest, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { readInventory } from "../helpers/probes.ts";
import { waitFor, waitForSameTree } from "../helpers/temp-tree.ts";

// What status and apply say must be true (issue 12, item 5, the reconciler's side): a watcher that
// cannot watch its source is a failed apply, a dead watcher is shown dead, a stopped one stopped.

const PW = "pw-STATUS-TRUTH-SECRET-90";

function manifest(f: ManifestFixture, port: number): string {
  const watch = `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n    fullSync: { schedule: "*/10 * * * *" }\n`;
  return loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", rest: watch });
}

// Breaks if startWatcher returns once the watcher wrote any status, whether it watches or not.
test("apply fails a watcher that starts but cannot watch its source; once the source exists it converges", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  const file = await f.writeManifest(manifest(f, port));
  // diff names the missing source on the watcher it would start...
  const missing = `its source ${f.path("source")} does not exist: create it, or correct source: (the watcher waits for it and replicates once it is there)`;
  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(2);
  expect(d.stdout).toContain(`+ watcher push: start watching ${f.path("source")} -> rsync://demo@127.0.0.1:${port}/data\n    ! ${missing}\n`);
  const a = await f.run(["apply", file]);
  expect(a.exitCode).toBe(1);
  expect(a.stdout).toMatch(/! watcher push: start watching .*: failed: the watcher runs but cannot watch its source: .*; it keeps retrying \(rtsync status shows it\)\n/);
  const s = await f.run(["status", file]);
  expect(s.exitCode).toBe(3);
  expect(s.stdout).toMatch(/watcher push: running, pid \d+/);
  // ...and on the running watcher that waits for it: drift apply cannot repair.
  const waiting = await f.run(["diff", file]);
  expect(waiting.exitCode).toBe(1);
  expect(waiting.stdout).toMatch(new RegExp(`~ watcher push: waiting for its source \\(pid \\d+\\)\n    ! cannot be applied: ${missing.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\n`));

  await mkdir(f.path("source"), { recursive: true });
  await writeFile(f.path("source", "late.txt"), "the source came later\n");
  await waitFor(async () => (await f.run(["status", file])).exitCode === 0 || "not healthy yet", 30_000);
  await waitForSameTree(f.path("source"), f.path("replica"));
  expect((await f.run(["diff", file])).exitCode).toBe(0);
});

// Breaks if watcherProblem reads a dead watcher's document as its current state.
test("a killed watcher is shown dead, a stopped one stopped: never 'watching', never a next full sync", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  const file = await f.writeManifest(manifest(f, port));
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  await waitFor(async () => (await f.run(["status", file])).stdout.includes("next full sync") || "no schedule yet");
  const pid = (await readInventory(f.stateDir)).watchers["push"]?.pid ?? 0;
  process.kill(pid, "SIGKILL");
  await waitFor(async () => (await f.run(["status", file])).exitCode === 3 || "still healthy");

  const dead = await f.run(["status", file]);
  expect(dead.stdout).toContain("watcher push: NOT RUNNING");
  expect(dead.stdout).toMatch(new RegExp(`problem: dead: pid ${pid} ended without stopping \\(last report \\S+, state watching\\); run \`rtsync apply\``));
  expect(dead.stdout).not.toContain("next full sync");
  expect(JSON.parse((await f.run(["status", file, "--json"])).stdout)).toMatchObject({ healthy: false, watchers: [{ name: "push", running: false, healthy: false }] });

  expect((await f.run(["apply", file])).exitCode).toBe(0);
  expect((await f.run(["down", file])).exitCode).toBe(0);
  const stopped = await f.run(["status", file]);
  expect(stopped.exitCode).toBe(3);
  expect(stopped.stdout).toMatch(/problem: stopped at \S+ \(by `rtsync down` or a signal; `rtsync apply` starts it\)/);
  expect(stopped.stdout).not.toContain("never started");
  expect(stopped.stdout).not.toContain("next full sync");
});
