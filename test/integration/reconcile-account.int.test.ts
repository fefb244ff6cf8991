import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { freePort, useFixture } from "../helpers/manifest-fixture.ts";
import { push } from "../helpers/rsync-client.ts";

// createAccount: apply makes the daemon's uid/gid a system group and account (no login shell, no
// home), owns the module directory by it, and the daemon writes pushed files as it. The account
// and group are always removed afterwards.

const PW = "pw-SECRET-1234";

// The passwd or group entry of `name`, split on ':', or undefined.
async function entry(db: "passwd" | "group", name: string): Promise<string[] | undefined> {
  const text = await readFile(`/etc/${db}`, "utf8");
  return text
    .split("\n")
    .map((l) => l.split(":"))
    .find((f) => f[0] === name);
}

test("createAccount: a system group and account with no shell and no home own the module and what is pushed", async () => {
  const name = `rtsynctest_${randomBytes(3).toString("hex")}`;
  expect(await entry("passwd", name)).toBeUndefined();
  // Registered first, so it runs after the fixture's cleanup has stopped the daemon.
  onTestFinished(async () => {
    await execa("userdel", [name], { reject: false });
    await execa("groupdel", [name], { reject: false });
  });
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
users:
  demo: { password: { env: DEMO_PW } }
daemons:
  d1:
    address: 127.0.0.1
    port: ${port}
    uid: ${name}
    gid: ${name}
    createAccount: true
    hostsAllow: [127.0.0.1]
    modules:
      data: { path: ${f.path("replica")}, readOnly: false, authUsers: [demo] }
`);
  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(2);
  expect(d.stdout).toContain(`+ group ${name}: create system group ${name}\n`);
  expect(d.stdout).toContain(`+ account ${name}: create system account ${name} (no login shell, no home, group ${name})\n`);
  expect(d.stdout).toContain(`+ directory ${f.path("replica")}: create owned by ${name}:${name} (module data of daemon d1)\n`);

  const a = await f.run(["apply", file]);
  expect(a.exitCode, a.all).toBe(0);
  expect(a.stdout).toContain("6 changed, 0 unchanged, 0 failed");

  const group = await entry("group", name);
  const user = await entry("passwd", name);
  expect(group).toBeDefined();
  expect(user).toBeDefined();
  const [uid, gid] = [Number(user?.[2]), Number(user?.[3])];
  expect(gid).toBe(Number(group?.[2]));
  expect(uid).toBeLessThan(1000); // a system account
  expect(user?.[6]).toBe("/usr/sbin/nologin");
  expect(existsSync(user?.[5] ?? "/nonexistent")).toBe(false);
  const dir = await stat(f.path("replica"));
  expect([dir.uid, dir.gid]).toEqual([uid, gid]);

  await mkdir(f.path("src"));
  await writeFile(f.path("src", "pushed.txt"), "pushed\n");
  const r = await push({ port, module: "data", user: "demo", password: PW, sources: [f.path("src", "pushed.txt")] });
  expect(r.exitCode, r.stderr).toBe(0);
  const pushed = await stat(f.path("replica", "pushed.txt"));
  expect([pushed.uid, pushed.gid]).toEqual([uid, gid]);

  // The account exists now: nothing left to do.
  const again = await f.run(["apply", file]);
  expect(again.stdout).toContain("0 changed, 6 unchanged, 0 failed");
});

test("useradd and groupadd in another user's PATH entry are passed over: the trusted ones create the account", async () => {
  const name = `rtsynctest_${randomBytes(3).toString("hex")}`;
  onTestFinished(async () => {
    await execa("userdel", [name], { reject: false });
    await execa("groupdel", [name], { reject: false });
  });
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const port = await freePort();
  // uid 65534's directory, first on the caller's PATH, with tools that leave a mark.
  await mkdir(f.path("fakebin"), { mode: 0o755 });
  for (const tool of ["useradd", "groupadd"]) {
    await writeFile(f.path("fakebin", tool), `#!/bin/sh\necho ${tool} >> ${f.path("fake-ran")}\nexit 0\n`, { mode: 0o755 });
    await chown(f.path("fakebin", tool), 65534, 65534);
  }
  await chown(f.path("fakebin"), 65534, 65534);
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
users:
  demo: { password: { env: DEMO_PW } }
daemons:
  d1:
    address: 127.0.0.1
    port: ${port}
    uid: ${name}
    gid: ${name}
    createAccount: true
    hostsAllow: [127.0.0.1]
    modules:
      data: { path: ${f.path("replica")}, readOnly: false, authUsers: [demo] }
`);
  const a = await f.run(["apply", file], { env: { ...process.env, DEMO_PW: PW, PATH: `${f.path("fakebin")}:${process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` } });
  expect(a.exitCode, a.all).toBe(0);
  expect(existsSync(f.path("fake-ran"))).toBe(false);
  expect(await entry("group", name)).toBeDefined();
  expect(await entry("passwd", name)).toBeDefined();
});
