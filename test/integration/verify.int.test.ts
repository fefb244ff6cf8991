import { mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { VerifyReport } from "../../src/resources/verify-report.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { waitForSameTree } from "../helpers/temp-tree.ts";

// `rtsync verify` through the real CLI, for a daemon target (with the job's password file) and a
// local one: equal replicas exit 0; a hand change on the target exits 2 and names the paths;
// nothing on either side changes.

const PW = "pw-VERIFY-3";

describe("rtsync verify", () => {
  let f: ManifestFixture;
  let file: string;
  let port: number;
  const daemonReplica = (...p: string[]) => f.path("replica", ...p);
  const localReplica = (...p: string[]) => f.path("local-replica", ...p);

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    await mkdir(f.path("source", "sub"), { recursive: true });
    for (const n of ["a.txt", "changed.txt", "gone.txt", "same-size.txt", "sub/b.txt"]) await writeFile(f.path("source", n), `${n} content\n`);
    await writeFile(f.path("source", "scratch.tmp"), "never sent\n");
    file = await f.writeManifest(
      loopbackManifest(f, {
        port,
        daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n",
        rest: `watches:
  push:
    source: ${f.path("source")}
    target: rsync://demo@127.0.0.1:${port}/data
    exclude: ["*.tmp"]
    fullSync: { schedule: "0 0 1 1 *" }
  local:
    source: ${f.path("source")}
    target: ${localReplica()}
    exclude: ["*.tmp"]
    fullSync: { schedule: "0 0 1 1 *" }
`,
      }),
    );
    const a = await f.run(["apply", file]);
    expect(a.exitCode, a.all).toBe(0);
    await waitForSameTree(f.path("source"), daemonReplica(), { exclude: ["*.tmp"] });
    await waitForSameTree(f.path("source"), localReplica(), { exclude: ["*.tmp"] });
  });
  afterAll(() => f.dispose());

  test("equal replicas: exit 0, each watch equal; excluded files are no difference", async () => {
    const v = await f.run(["verify", file]);
    expect(v.exitCode, v.all).toBe(0);
    const [header, ...rest] = v.stdout.split("\n");
    expect(header).toBe(`rtsync verify: ${file} on node ${hostname().split(".")[0]}, comparing sizes and modification times (--checksum compares contents)`);
    expect(rest).toEqual([
      `watch push: ${f.path("source")} -> rsync://demo@127.0.0.1:${port}/data: equal`,
      `watch local: ${f.path("source")} -> ${localReplica()}: equal`,
      "equal",
    ]);
    expect(v.all).not.toContain(PW);
  });

  test("a hand change on each target: exit 2, and the missing, extra and different paths are named", async () => {
    for (const replica of [daemonReplica, localReplica]) {
      await writeFile(replica("changed.txt"), "changed by hand, and longer\n");
      await rm(replica("gone.txt"));
      await writeFile(replica("sub", "stray.txt"), "not in the source\n");
    }
    const v = await f.run(["verify", file]);
    expect(v.exitCode, v.all).toBe(2);
    const expected = (name: string, target: string) => [
      `watch ${name}: ${f.path("source")} -> ${target}: 3 differences`,
      "  missing on the target (1): gone.txt",
      "  extra on the target (1): sub/stray.txt",
      "  different (1): changed.txt",
    ];
    expect(v.stdout.split("\n").slice(1)).toEqual([...expected("push", `rsync://demo@127.0.0.1:${port}/data`), ...expected("local", localReplica()), "DIFFERENT"]);
    // Read-only: the stray is still there.
    expect(await readFile(daemonReplica("sub", "stray.txt"), "utf8")).toBe("not in the source\n");

    const j = await f.run(["verify", file, "--watch", "local", "--json"]);
    expect(j.exitCode).toBe(2);
    expect(JSON.parse(j.stdout) as VerifyReport).toMatchObject({
      result: "different",
      checksum: false,
      watches: [{ name: "local", result: "different", missing: { count: 1, sample: ["gone.txt"] }, extra: { count: 1, sample: ["sub/stray.txt"] }, different: { count: 1, sample: ["changed.txt"] } }],
    });
  });

  test("a same-size change with the old modification time is found only with --checksum", async () => {
    const original = await stat(localReplica("same-size.txt"));
    await writeFile(localReplica("same-size.txt"), "SAME-SIZE.TXT CONTENT\n");
    await utimes(localReplica("same-size.txt"), original.atime, original.mtime);
    const quick = JSON.parse((await f.run(["verify", file, "--watch", "local", "--json"])).stdout) as VerifyReport;
    expect(quick.watches[0]?.different.sample).toEqual(["changed.txt"]);
    const deep = await f.run(["verify", file, "--watch", "local", "--checksum", "--json"]);
    expect(deep.exitCode).toBe(2);
    expect([...((JSON.parse(deep.stdout) as VerifyReport).watches[0]?.different.sample ?? [])].sort()).toEqual(["changed.txt", "same-size.txt"]);
  });

  test("a watch that does not run here is an error (exit 1), as one sentence, --json too", async () => {
    const v = await f.run(["verify", file, "--watch", "nope"]);
    expect(v.exitCode).toBe(1);
    expect(v.stderr.trim()).toMatch(/^rtsync: no watch nope runs on node \S+ \(its watches: push, local\); check --watch and --node$/);
    const j = await f.run(["verify", file, "--watch", "nope", "--json"]);
    expect(j.exitCode).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: "E_USAGE" } });
  });

  test("verify's rsync runs in a built environment: the caller's RSYNC_CONNECT_PROG is not run", async () => {
    // rsync runs RSYNC_CONNECT_PROG (through a shell) instead of connecting to a daemon itself.
    const v = await f.run(["verify", file, "--watch", "push"], { env: { RSYNC_CONNECT_PROG: `touch ${f.path("connect-prog-ran")}; nc 127.0.0.1 ${port}` } });
    // Compared (equal, or different after the hand changes above), not failed.
    expect([0, 2], v.all).toContain(v.exitCode);
    await expect(stat(f.path("connect-prog-ran"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
