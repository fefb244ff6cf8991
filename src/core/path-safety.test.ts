import { chmod, chown, lchown, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readDirectoryOpenToOthers, readPathHazard } from "./path-safety.ts";

// Real directories and links in a temp dir (the test runs as root, like rtsync on a server).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rtsync-paths-"));
  await chmod(dir, 0o755);
  await mkdir(path.join(dir, "real"), { mode: 0o755 });
  await mkdir(path.join(dir, "open"), { mode: 0o777 });
  await chmod(path.join(dir, "open"), 0o777);
  await symlink(path.join(dir, "real"), path.join(dir, "rootlink"));
  await symlink("/etc", path.join(dir, "userlink"));
  await lchown(path.join(dir, "userlink"), 65534, 65534);
  await symlink("/etc", path.join(dir, "open", "planted"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test("a root's link in a closed directory is followed; a link another user made, or one in an open directory, is not", async () => {
  expect(await readPathHazard(path.join(dir, "real", "secrets"), 0)).toBeUndefined();
  expect(await readPathHazard(path.join(dir, "rootlink", "secrets"), 0)).toBeUndefined();
  expect(await readPathHazard(path.join(dir, "userlink", "secrets"), 0)).toBe(
    `${dir}/userlink is a symbolic link owned by uid 65534; rtsync does not follow links it did not expect: use the real path`,
  );
  expect(await readPathHazard(path.join(dir, "open", "planted", "secrets"), 0)).toBe(`${dir}/open may be written by anyone and is not sticky; rtsync does not write or chown below it`);
  expect(await readPathHazard(path.join(dir, "missing", "deeper", "f"), 0)).toBeUndefined();
});

test("a directory another user owns is a hazard below it (it could be exchanged for a link at any time)", async () => {
  await mkdir(path.join(dir, "theirs", "a"), { recursive: true });
  await chown(path.join(dir, "theirs"), 65534, 65534);
  expect(await readPathHazard(path.join(dir, "theirs", "a", "victim"), 0)).toBe(`${dir}/theirs is owned by uid 65534; rtsync does not write or chown below a directory another user controls`);
  expect(await readPathHazard(path.join(dir, "theirs", "a", "victim"), 65534)).toBeUndefined();
});

test("a directory others can write is reported (a secret should not live there)", async () => {
  expect(await readDirectoryOpenToOthers(path.join(dir, "open", "secrets"))).toBe(true);
  expect(await readDirectoryOpenToOthers(path.join(dir, "real", "secrets"))).toBe(false);
  await chown(path.join(dir, "real"), 0, 0);
});
