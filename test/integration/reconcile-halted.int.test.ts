import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";
import { processRunning, readInventory } from "../helpers/probes.ts";
import { waitFor, waitForSameTree } from "../helpers/temp-tree.ts";

// A watcher that halted (here: a full sync hit maxDelete) through the real CLI: status says why
// (exit 3), diff plans its restart, and after the operator fixed things `rtsync apply` starts it
// again and it is healthy.

const PW = "pw-HALT-1";

test("a halted watcher: status says why, diff plans a restart, apply restarts it once the target is fixed", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source"), { recursive: true });
  await writeFile(f.path("source", "a.txt"), "a\n");
  const file = await f.writeManifest(
    loopbackManifest(f, {
      port,
      daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n",
      rest: `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    maxDelete: 1
    fullSync: { schedule: "*/2 * * * * *" }
`,
    }),
  );
  const a = await f.run(["apply", file]);
  expect(a.exitCode, a.all).toBe(0);
  await waitForSameTree(f.path("source"), f.path("replica"));
  const pid = (await readInventory(f.stateDir)).watchers["push"]?.pid ?? 0;

  // Three files appear on the replica only: the next full sync may delete one of them, then halts.
  for (const n of ["s1", "s2", "s3"]) await writeFile(f.path("replica", `${n}.txt`), n);
  await waitFor(async () => {
    const j = JSON.parse((await f.run(["status", file, "--json"])).stdout) as { watchers: Array<{ report?: { state: string } }> };
    return j.watchers[0]?.report?.state === "halted" || `state ${j.watchers[0]?.report?.state}`;
  }, 30_000);
  const why = "a full sync would delete more files on the target than maxDelete (1) allows: rsync deleted 1 and skipped 2 more";
  const s = await f.run(["status", file]);
  expect(s.exitCode).toBe(3);
  expect(s.stdout).toContain(`watcher push: running, pid ${pid}, HALTED (no rsync runs)`);
  expect(s.stdout).toContain(`  problem: ${why}; halted so that no further full sync deletes more;`);
  expect((await readdir(f.path("replica"))).filter((n) => n.startsWith("s"))).toHaveLength(2);

  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(2);
  expect(d.stdout).toContain(`~ watcher push: restart (halted: ${why}; pid ${pid})`);

  // The operator decides the files should go, removes them, and applies.
  for (const n of await readdir(f.path("replica"))) if (n.startsWith("s")) await rm(f.path("replica", n));
  const haltedSince = (await readWatcherStatus(`${f.stateDir}/watches/push`))?.startedAt;
  const again = await f.run(["apply", file]);
  expect(again.exitCode, again.all).toBe(0);
  // The job restarts inside the watch host (same pid, a new start), not the host.
  expect((await readInventory(f.stateDir)).watchers["push"]?.pid).toBe(pid);
  expect(await processRunning(pid)).toBe(true);
  const restarted = await readWatcherStatus(`${f.stateDir}/watches/push`);
  expect(restarted?.startedAt).not.toBe(haltedSince);
  expect(restarted?.state).not.toBe("halted");
  await waitFor(async () => {
    const r = await f.run(["status", file]);
    return r.exitCode === 0 || r.stdout;
  }, 30_000);
});
