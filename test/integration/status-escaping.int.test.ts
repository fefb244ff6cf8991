import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { expect, test } from "vitest";
import { readWatcherStatus } from "../../src/state/watcher-status.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";

// A user who can write to a watched tree names a file with a newline and escape sequences, and the
// target refuses it (a replica directory the daemon's user cannot write): the path is given up and
// `rtsync status` names it. Before, the name went to the terminal raw and forged a line of its own
// ("watcher push: running … healthy"); now its control characters are escaped.

const PW = "pw-ESCAPING-9";
const FORGED = "watcher push: all good, healthy";

test("a file name with a newline and escape sequences is escaped in rtsync status, never a line of its own", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  await mkdir(f.path("source", "locked"), { recursive: true });
  await writeFile(f.path("source", "locked", "keep.txt"), "k\n");
  const file = await f.writeManifest(
    loopbackManifest(f, {
      port,
      daemonExtra: "    uid: nobody\n    gid: nogroup\n",
      rest: `watches:\n  push:\n    source: ${f.path("source")}\n    target: rsync://demo@127.0.0.1:${port}/data\n    fullSync: { schedule: "0 0 1 1 *" }\n`,
    }),
  );
  const a = await f.run(["apply", file]);
  expect(a.exitCode, a.all).toBe(0);
  const watchDir = `${f.stateDir}/watches/push`;
  expect(await waitFor(async () => (await readWatcherStatus(watchDir))?.initialSync.state === "done", 30_000)).toBe(true);
  // The replica's directory closed to the daemon's user (nobody): what goes there is refused.
  await chown(f.path("replica", "locked"), 0, 0);
  await chmod(f.path("replica", "locked"), 0o755);
  const name = `x\n${FORGED}\x1b[2K\r`;
  await writeFile(f.path("source", "locked", name), "planted\n");
  expect(await waitFor(async () => (await readWatcherStatus(watchDir))?.targets?.some((l) => (l.failing?.sample.length ?? 0) > 0) === true, 60_000)).toBe(true);

  const s = await f.run(["status", file]);
  expect(s.stdout).toContain("locked/x\\nwatcher push: all good, healthy\\x1b[2K\\r");
  expect(s.stdout.split("\n").map((l) => l.trim())).not.toContain(FORGED);
  expect(s.stdout).not.toMatch(/[\x1b\r]/);
  // JSON keeps the name as it is (JSON escapes it).
  expect((await f.run(["status", file, "--json"])).stdout).toContain(JSON.stringify(`locked/${name}`).slice(1, -1));
});
