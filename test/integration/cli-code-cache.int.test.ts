import { chmod, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { buildCacheFile, parseBundleId, parseCacheFile, type CacheIdentity } from "../../src/cli/code-cache.ts";
import { REPO } from "../helpers/cli.ts";

// The CLI runs dist/cli/rtsync.cjs with a V8 code cache beside it (src/cli/cli-bundle.ts). Each
// test copies the built install to a temp dir and spoils its cache: the command must run as
// without one, and make the cache again when it may write there.

const MANIFEST = `version: 1
users:
  u: { password: { value: "code-cache-test-pw" } }
daemons:
  d:
    address: 127.0.0.1
    port: 18777
    modules:
      m: { path: /srv/code-cache-test, authUsers: [u] }
`;

interface Install {
  readonly dir: string;
  readonly bundle: string;
  readonly cache: string;
  readonly manifest: string;
  readonly identity: CacheIdentity;
}

async function copyInstall(): Promise<Install> {
  const dir = await mkdtemp(join(tmpdir(), "rtsync-code-cache-"));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await cp(join(REPO, "dist"), join(dir, "dist"), { recursive: true });
  await cp(join(REPO, "package.json"), join(dir, "package.json"));
  const manifest = join(dir, "rtsync.yaml");
  await writeFile(manifest, MANIFEST);
  const bundle = join(dir, "dist/cli/rtsync.cjs");
  const id = parseBundleId(await readFile(bundle, "latin1"));
  if (id === undefined) throw new Error("the built bundle has no id line");
  return { dir, bundle, cache: `${bundle}.cache`, manifest, identity: { bundle: id, node: process.version, arch: process.arch } };
}

async function validate(install: Install) {
  const r = await execa("node", [join(install.dir, "dist/cli/bin.js"), "validate", install.manifest], { reject: false, stdin: "ignore", env: { RTSYNC_CODE_CACHE: "" } });
  // The manifest's own warning (a password in the file), nothing about the cache.
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({
    exitCode: 0,
    stdout: `${install.manifest}: valid: 1 daemon, 1 module, 1 user, 0 watches (1 warning)`,
    stderr: `${install.manifest}:3:18: warning: user "u" has an inline password; keep it out of git with { env: VARIABLE } or { file: PATH }`,
  });
  return r;
}

async function cacheIsGood(install: Install): Promise<boolean> {
  return parseCacheFile(await readFile(install.cache), install.identity).ok;
}

test("the build leaves a cache that the CLI uses as it is", async () => {
  const install = await copyInstall();
  expect(await cacheIsGood(install)).toBe(true);
  const before = await stat(install.cache);
  await validate(install);
  expect((await stat(install.cache)).ino).toBe(before.ino);
});

test("a damaged cache (eight bytes overwritten) is not used: the command runs, and the cache is made again", async () => {
  const install = await copyInstall();
  const file = await readFile(install.cache);
  // Fed to V8 as it is, damage like this crashed node ("Fatal error … unreachable code").
  const at = Math.floor(file.length / 3);
  file.fill(0xa5, at, at + 8);
  await writeFile(install.cache, file);
  expect(await cacheIsGood(install)).toBe(false);
  await validate(install);
  expect(await cacheIsGood(install)).toBe(true);
});

test("a cache made by another node version is not used, and is replaced", async () => {
  const install = await copyInstall();
  const good = parseCacheFile(await readFile(install.cache), install.identity);
  if (!good.ok) throw new Error(good.reason);
  await writeFile(install.cache, buildCacheFile({ ...install.identity, node: "v20.0.0" }, good.data));
  await validate(install);
  expect(await cacheIsGood(install)).toBe(true);
});

test("a cache that others may write is not read (it is code): it is made again, mode 0644", async () => {
  const install = await copyInstall();
  await chmod(install.cache, 0o666);
  await validate(install);
  expect((await stat(install.cache)).mode & 0o777).toBe(0o644);
  expect(await cacheIsGood(install)).toBe(true);
});

test("a read-only install with a damaged cache runs without one and writes nothing", async () => {
  const install = await copyInstall();
  const damaged = (await readFile(install.cache)).subarray(0, 1000);
  await writeFile(install.cache, damaged);
  const cliDir = join(install.dir, "dist/cli");
  const before = await readdir(cliDir);
  await execa("mount", ["--bind", cliDir, cliDir]);
  onTestFinished(() => execa("umount", [cliDir]).then(() => undefined));
  await execa("mount", ["-o", "remount,bind,ro", cliDir]);
  await validate(install);
  expect(await readdir(cliDir)).toEqual(before);
  expect(await readFile(install.cache)).toEqual(damaged);
});

test("without a cache the CLI runs and makes one; RTSYNC_CODE_CACHE=off neither reads nor writes it", async () => {
  const install = await copyInstall();
  await rm(install.cache);
  const off = await execa("node", [join(install.dir, "dist/cli/bin.js"), "validate", install.manifest], { reject: false, env: { RTSYNC_CODE_CACHE: "off" } });
  expect(off.exitCode).toBe(0);
  await expect(stat(install.cache)).rejects.toMatchObject({ code: "ENOENT" });
  await validate(install);
  expect(await cacheIsGood(install)).toBe(true);
});
