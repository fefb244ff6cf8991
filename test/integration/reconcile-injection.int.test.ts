import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createFixture, freePort, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { daemonPid, processRunning } from "../helpers/probes.ts";

// A manifest that tries to break out of an rsyncd.conf or secrets-file line is refused by diff and
// apply (exit 1, FILE:LINE:COL), before anything is touched: every file of an earlier apply stays
// byte for byte as it was, and on a fresh machine nothing is created.

const PW = "pw-SECRET-1234";

// Line numbers below count from here: 4 = the user, 11 = the module name, 13 = comment.
function manifest(f: ManifestFixture, port: number): string {
  return `version: 1
stateDir: ${f.stateDir}
users:
  demo: { password: { env: DEMO_PW } }
daemons:
  d1:
    address: 127.0.0.1
    port: ${port}
    hostsAllow: [127.0.0.1]
    modules:
      data:
        path: ${f.path("replica")}
        comment: replica
        readOnly: false
        authUsers: [demo]
`;
}

const NEWLINE = "must not contain a line break or NUL (it would start a new rsyncd.conf line)";

// [what, edit of the manifest, the FILE:LINE:COL errors (as :LINE:COL: message)]
const ATTEMPTS: ReadonlyArray<readonly [string, (yaml: string) => string, readonly string[]]> = [
  ["a module comment that opens a new section", (y) => y.replace("comment: replica", 'comment: "x\\n[evil]\\npath = /"'), [`:13:18: comment ${NEWLINE}`]],
  [
    "a module named a]b",
    (y) => y.replace("      data:\n", "      a]b:\n"),
    [":11:7: invalid name \"a]b\": must start with a letter or digit and contain only letters, digits, '.', '_' and '-'"],
  ],
  [
    "an options value with a newline",
    (y) => y.replace("        readOnly: false\n", '        readOnly: false\n        options: { "dont compress": "*.gz\\n[evil]" }\n'),
    [`:15:37: dont compress ${NEWLINE}`],
  ],
  [
    "a { value } password with a newline",
    (y) => y.replace("{ env: DEMO_PW }", '{ value: "pw\\nroot:x" }'),
    [":4:30: password must not contain a line break or NUL (it would start a new secrets file line)"],
  ],
  ["a comment ending in a backslash", (y) => y.replace("comment: replica", "comment: 'x\\'"), [":13:18: comment must not end with a backslash (rsyncd.conf would join the next line)"]],
];

interface Snapshot {
  readonly content: string;
  readonly mode: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

// Every file and directory under `dir` but the manifests: content, mode, mtime, inode.
async function snapshot(dir: string): Promise<Record<string, Snapshot | "dir">> {
  const out: Record<string, Snapshot | "dir"> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = relative(dir, path);
    if (rel.endsWith(".yaml")) continue;
    if (entry.isDirectory()) {
      out[rel] = "dir";
      continue;
    }
    const s = await stat(path);
    out[rel] = { content: await readFile(path, "latin1"), mode: s.mode, mtimeMs: s.mtimeMs, ino: s.ino };
  }
  return out;
}

describe("injection attempts against an applied manifest", () => {
  let f: ManifestFixture;
  let file: string;
  let good: string;
  let before: Record<string, Snapshot | "dir">;
  let pid: number;

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    good = manifest(f, await freePort());
    file = await f.writeManifest(good);
    const r = await f.run(["apply", file]);
    expect(r.exitCode, r.all).toBe(0);
    pid = await daemonPid(f.stateDir, "d1");
    before = await snapshot(f.dir);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(["state/daemons/d1/rsyncd.conf", "state/daemons/d1/rsyncd.secrets", "state/inventory.json"]));
  });
  afterAll(() => f?.dispose());

  test.each(ATTEMPTS)("%s is refused by diff and apply and changes nothing", async (_what, edit, errors) => {
    await f.writeManifest(edit(good));
    const [d, a] = await Promise.all([f.run(["diff", file]), f.run(["apply", file])]);
    for (const r of [d, a]) {
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe("");
      const lines = r.stderr.split("\n").filter((l) => !l.includes(": warning: "));
      expect(lines).toEqual([...errors.map((e) => `${file}${e}`), `rtsync: ${file} is invalid (${errors.length} error${errors.length === 1 ? "" : "s"}); nothing was changed`]);
    }
    expect(await snapshot(f.dir)).toEqual(before);
    expect(await processRunning(pid)).toBe(true);
  });

  test("a password from the environment with a newline is refused and the secrets file stays as it was", async () => {
    await f.writeManifest(good);
    const secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
    const env = { DEMO_PW: `${PW}\nroot:x` };
    const [d, a] = await Promise.all([f.run(["diff", file], { env }), f.run(["apply", file], { env })]);
    const why = 'the password of user "demo" from environment variable DEMO_PW cannot be used: password must not contain a line break or NUL (it would start a new secrets file line)';
    expect(d.exitCode).toBe(1);
    expect(d.stdout).toContain(`    ! cannot be applied: ${why}`);
    expect(a.exitCode).toBe(1);
    expect(a.stdout).toContain(`! file ${secrets}: cannot be rendered (secrets file of daemon d1): failed: ${why}`);
    expect(a.stdout).toContain("0 changed, 3 unchanged, 1 failed");
    expect(await snapshot(f.dir)).toEqual(before);
  });
});

test("on a fresh machine an injection attempt creates nothing", async () => {
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const file = await f.writeManifest(manifest(f, await freePort()).replace("comment: replica", 'comment: "x\\n[evil]\\npath = /"'));
  const [d, a] = await Promise.all([f.run(["diff", file]), f.run(["apply", file])]);
  expect([d.exitCode, a.exitCode]).toEqual([1, 1]);
  expect(a.stderr).toContain(`${file}:13:18: comment ${NEWLINE}`);
  expect(await readdir(f.dir)).toEqual(["rtsync.yaml"]);
});
