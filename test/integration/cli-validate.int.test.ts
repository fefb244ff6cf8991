import { statSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO, rtsync } from "../helpers/cli.ts";

// `rtsync validate` and `rtsync schema` through the real executable: exit codes, one sentence per
// problem, never a stack trace.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rtsync-validate-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function manifest(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

function noStack(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
  expect(text).not.toContain("Error:");
}

describe("rtsync validate", () => {
  test.each([
    ["examples/quickstart.yaml", "examples/quickstart.yaml: valid: 1 daemon, 1 module, 1 user, 1 watch\nwatch push: event source inotify (auto: rtsync's inotify addon is built)"],
    ["examples/master-slave.yaml", "examples/master-slave.yaml: valid: 1 daemon, 1 module, 1 user, 1 watch\nwatch backup-push: event source inotify (auto: rtsync's inotify addon is built)"],
    ["examples/two-sites.yaml", "examples/two-sites.yaml: valid: 1 daemon, 1 module, 1 user, 1 watch, 1 sshReceiver\nwatch www: event source inotify (auto: rtsync's inotify addon is built)"],
  ])("accepts %s, and says which event source each watch runs here and why", async (file, summary) => {
    const r = await rtsync(["validate", file]);
    // The quick start's demo password file is as git checked it out (0644 under umask 022): warned about.
    const secret = join(REPO, "examples/secrets/demo.password");
    const warned = file === "examples/quickstart.yaml" && (statSync(secret).mode & 0o077) !== 0;
    const line = (await readFile(join(REPO, file), "utf8")).split("\n").findIndex((l) => l.includes("{ file: secrets/demo.password }")) + 1;
    const stderr = warned ? `${file}:${line}:23: warning: the password file ${secret} of user "demo" can be read by users other than its owner (mode 0644): chmod 600 ${secret}` : "";
    expect(r).toMatchObject({ exitCode: 0, stdout: warned ? summary.replace(" 1 watch\n", " 1 watch (1 warning)\n") : summary, stderr });
  });

  test("a password file that others can read is warned about, with the chmod that fixes it", async () => {
    const file = await manifest("pw.yaml", `version: 1\nstateDir: ${dir}/state\nusers:\n  demo: { password: { file: pw.secret } }\n`);
    const secret = join(dirname(file), "pw.secret");
    await writeFile(secret, "s3cret\n", { mode: 0o640 });
    await chmod(secret, 0o640);
    const r = await rtsync(["validate", file]);
    const warning = `${file}:4:29: warning: the password file ${secret} of user "demo" can be read by users other than its owner (mode 0640): chmod 600 ${secret}`;
    expect([r.exitCode, r.stderr]).toEqual([0, warning]);
    expect(r.all).not.toContain("s3cret");
    const a = await rtsync(["apply", file]);
    expect([a.exitCode, a.stderr]).toEqual([0, warning]);
    await chmod(secret, 0o600);
    expect((await rtsync(["validate", file])).stderr).toBe("");
  });

  test("prints every error as FILE:LINE:COL and exits 1", async () => {
    const file = await manifest(
      "bad.yaml",
      "version: 1\ndaemons:\n  d:\n    prot: 873\n    modules:\n      m: { path: /m, comment: \"x\\n[evil]\", authUsers: [ghost] }\n",
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toEqual([
      `${file}:4:5: unknown key "prot" in daemons.d (did you mean "port"?)`,
      `${file}:6:31: comment must not contain a line break or NUL (it would start a new rsyncd.conf line)`,
      `${file}:6:56: auth user "ghost" is not defined in users`,
      `${file}: invalid, 3 errors`,
    ]);
  });

  test("warnings do not change the exit code", async () => {
    const file = await manifest(
      "warn.yaml",
      "version: 1\nusers:\n  u: { password: { env: P } }\ndaemons:\n  d:\n    hostsAllow: [192.168.1.0/24]\n    hostsDeny: [0.0.0.0/32]\n    modules:\n      m: { path: /m, authUsers: [u] }\n",
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`${file}:7:16: warning: daemon "d": hostsDeny ["0.0.0.0/32"] together with hostsAllow lets in every host`);
    expect(r.stdout).toBe(`${file}: valid: 1 daemon, 1 module, 1 user, 0 watches (1 warning)`);
  });

  test.each([
    ["an empty file", "", ":1:1: the manifest is empty; it needs at least `version: 1`"],
    ["a YAML syntax error", "version: 1\nusers: [a\n", ":3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]"],
    ["a duplicate key", "version: 1\nversion: 1\n", ':2:1: duplicate key "version": a key may appear only once in a mapping'],
  ])("%s gets one clear sentence", async (_what, text, message) => {
    const file = await manifest("one.yaml", text);
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")[0]).toBe(`${file}${message}`);
    noStack(r.all);
  });

  test("a missing file gets one clear sentence", async () => {
    const r = await rtsync(["validate", join(dir, "nope.yaml")]);
    expect(r).toMatchObject({ exitCode: 1, stdout: "" });
    expect(r.stderr).toBe(`rtsync: cannot read manifest ${join(dir, "nope.yaml")}: no such file (pass the manifest path, or run in a directory with rtsync.yaml)`);
  });

  test("the manifest defaults to rtsync.yaml in the current directory", async () => {
    await manifest("rtsync.yaml", "version: 1\n");
    const r = await rtsync(["validate"], { cwd: dir });
    expect(r).toMatchObject({ exitCode: 0, stdout: "rtsync.yaml: valid: 0 daemons, 0 modules, 0 users, 0 watches" });
  });

  test("an unknown command or flag exits 1 with usage help", async () => {
    const r = await rtsync(["validat"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("unknown command 'validat'");
    noStack(r.all);
  });
});

describe("rtsync validate: bounded input (issue 13)", () => {
  test("a manifest over 4 MiB is refused before it is parsed, in one sentence", async () => {
    const file = await manifest("huge.yaml", `version: 1\nx: "${"x".repeat(5 * 1024 * 1024)}"\n`);
    const r = await rtsync(["validate", file]);
    expect(r).toMatchObject({ exitCode: 1, stdout: "" });
    expect(r.stderr).toBe(`rtsync: cannot read manifest ${file}: it is 5242897 bytes, over the limit of 4 MiB (4194304 bytes)`);
  });

  test("an alias bomb is an error at its position, not an internal error", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [from, to] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"], ["f", "g"]]) {
      levels.push(`${to}: &${to} [${Array(10).fill(`*${from}`).join(", ")}]`);
    }
    const file = await manifest("bomb.yaml", `version: 1\n${levels.join("\n")}\n`);
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      `${file}:6:36: alias *d makes the manifest expand past 100000 values (an alias bomb); aliases may add at most 100000 values in all`,
      `${file}: invalid, 1 error`,
    ]);
    noStack(r.all);
  });
});

describe("rtsync validate: what a manifest may ask of rtsync as root (issue 13)", () => {
  test("rsyncArgs that would lose data or bypass rtsync are refused, with the key that does the job", async () => {
    const file = await manifest(
      "args.yaml",
      'version: 1\nwatches:\n  w:\n    source: /srv/data\n    target: /srv/replica\n    rsyncArgs: ["--remove-source-files", "--exclude=*.tmp", "--compress"]\n',
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      `${file}:6:17: rsyncArgs item "--remove-source-files" is not allowed: rsync would delete each source file once sent and the watcher would then delete the replica's copy, so both copies are lost`,
      `${file}:6:42: rsyncArgs item "--exclude=*.tmp" is not allowed: use the watch's exclude: key (it filters events too)`,
      `${file}: invalid, 2 errors`,
    ]);
  });

  test("a module at /etc, a watch target /etc and a pidFile /etc/passwd are refused with the fix", async () => {
    const file = await manifest(
      "paths.yaml",
      "version: 1\ndaemons:\n  d:\n    pidFile: /etc/passwd\n    modules:\n      m: { path: /tmp/x/../../../etc }\nwatches:\n  w: { source: /srv/data, target: /etc }\n",
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      `${file}:4:14: pidFile /etc/passwd is the user database, a system file rtsync must never write; use a file of its own such as /run/rsyncd.pid`,
      `${file}:6:10: warning: module "m" is readable by anyone who can reach 0.0.0.0:873: set authUsers or hostsAllow, or bind address to a private interface`,
      `${file}:6:18: path /tmp/x/../../../etc must not contain '..'; write the path it stands for (/etc)`,
      `${file}:6:18: path /etc is a system directory; rtsync would make it owned by the transfer user and clients could write there; use a directory of its own such as /srv/m`,
      `${file}:8:35: target /etc is a system directory; each full sync makes it an exact copy of the source, deleting everything else in it; use a directory of its own such as /srv/replica`,
      `${file}: invalid, 4 errors, 1 warning`,
    ]);
  });

  test("sysctlFile equal to secretsFile (diff printed the password) names both positions", async () => {
    const file = await manifest(
      "clash.yaml",
      "version: 1\nsysctlFile: /etc/rtsync.conf\nusers:\n  u: { password: { env: P } }\ndaemons:\n  d:\n    secretsFile: /etc/rtsync.conf\n    config: /etc/rtsync.conf\n",
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      `${file}:7:18: secretsFile /etc/rtsync.conf is also sysctlFile (${file}:2:13); each file rtsync writes must have one purpose`,
      `${file}:8:13: config /etc/rtsync.conf is also sysctlFile (${file}:2:13); each file rtsync writes must have one purpose`,
      `${file}: invalid, 2 errors`,
    ]);
  });
});

describe("rtsync validate: secrets and names (issue 13)", () => {
  test("a password may start with '#'; a pasted password in { env } is not echoed; uid -D never reaches useradd", async () => {
    const file = await manifest(
      "names.yaml",
      'version: 1\nusers:\n  a: { password: { value: "#s3cret" } }\n  b: { password: { env: "correct horse battery" } }\ndaemons:\n  d:\n    address: 127.0.0.1\n    uid: "-D"\n    createAccount: true\n',
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split("\n")).toEqual([
      `${file}:3:18: warning: user "a" has an inline password; keep it out of git with { env: VARIABLE } or { file: PATH }`,
      `${file}:4:25: password env is not a valid environment variable name (letters, digits and _, not starting with a digit)`,
      `${file}:8:10: uid "-D" is not an account name useradd accepts: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters`,
      `${file}: invalid, 2 errors, 1 warning`,
    ]);
    expect(r.all).not.toContain("horse");
  });
});

describe("rtsync validate: warnings follow what rsyncd will do (issue 13)", () => {
  test("read only = false from the daemon's options, uid \"0\" and a pre-xfer exec are warned about; the manifest stays valid", async () => {
    const file = await manifest(
      "meaning.yaml",
      'version: 1\ndaemons:\n  d:\n    uid: "0"\n    options: { "read only": false, "pre-xfer exec": /usr/local/bin/check }\n    modules:\n      m: { path: /srv/m }\n',
    );
    const r = await rtsync(["validate", file]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr.split("\n")).toEqual([
      `${file}:4:10: warning: module "m" is writable while the daemon runs as root without useChroot: a client can write outside /srv/m through symlinks`,
      `${file}:5:53: warning: options."pre-xfer exec" runs "/usr/local/bin/check" as root on every connection to any module of daemon "d" (rsyncd starts it before it switches to the module's uid); keep the command, and all it reads, writable by root only`,
      `${file}:7:10: warning: module "m" is writable by anyone who can reach the daemon ("read only": false in daemons.d.options applies to it): set authUsers or hostsAllow`,
    ]);
    expect(r.stdout).toBe(`${file}: valid: 1 daemon, 1 module, 0 users, 0 watches (3 warnings)`);
  });
});

describe("rtsync schema", () => {
  test("prints the committed JSON Schema", async () => {
    const r = await rtsync(["schema"]);
    expect(r.exitCode).toBe(0);
    expect(`${r.stdout}\n`).toBe(await readFile(new URL("../../schemas/rtsync.schema.json", import.meta.url), "utf8"));
  });
});
