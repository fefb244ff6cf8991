import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, test } from "vitest";
import { BIN } from "../helpers/cli.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";
import { diffTrees } from "../helpers/temp-tree.ts";

// `rtsync apply` on a terminal follows the initial sync of the watchers it started, with rsync's
// --info=progress2 figures, and returns when it is over. A pseudo-terminal comes from script(1).

test("apply on a terminal shows the initial sync's progress and returns once the tree is on the replica", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-PROGRESS-5150" } });
  const port = await freePort();
  // The daemon first, through the fixture (which stops it afterwards).
  const daemonOnly = loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n" });
  const file = await f.writeManifest(daemonOnly);
  expect((await f.run(["apply", file])).exitCode).toBe(0);

  // 4 MiB at 2 MB/s: the initial sync takes about two seconds, long enough for progress lines.
  await mkdir(f.path("source", "big"), { recursive: true });
  for (let i = 0; i < 32; i++) await writeFile(f.path("source", "big", `f${i}.bin`), randomBytes(128 * 1024));
  await writeFile(
    file,
    `${daemonOnly}watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    rsyncArgs: ["--bwlimit=2000"]
    fullSync: { schedule: "0 0 1 1 *" }
`,
  );
  try {
    const r = await execa("script", ["-qec", `${process.execPath} ${BIN} apply ${file}`, "/dev/null"], {
      env: { ...process.env, ...f.env },
      reject: false,
      stdin: "ignore",
    });
    const screen = r.stdout.replace(/\r/g, "\n");
    expect(r.exitCode, screen).toBe(0);
    expect(screen).toContain("+ watcher push: start watching");
    expect(screen).toMatch(/watcher push: initial sync \d+%, [\d,]+ files sent of [\d,]+ seen, [\d.]+ [KM]iB \(\d+\.\d s\)/);
    expect(screen).toMatch(/watcher push: initial sync done in \d+\.\d s \(32 files, 4\.0 MiB sent\)/);
    // It returned after the initial sync: the replica already holds the tree.
    expect(await diffTrees(f.path("source"), f.path("replica"))).toBe("");
    expect(screen).not.toContain("pw-PROGRESS-5150");
  } finally {
    await f.run(["down", file]);
  }
});
