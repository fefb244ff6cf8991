import { execa } from "execa";
import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { openDirectoryWalk } from "./dir-walk.ts";

// Real directories, links and owners (the suite runs as root).

let base: string;
beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), "rtsync-walk-"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const inode = async (p: string) => (await stat(p)).ino;

test("opens a directory by walking it, creating what is missing with the mode asked", async () => {
  const h = await openDirectoryWalk(path.join(base, "a/b/c"), { create: { mode: 0o750 }, uid: 0 });
  try {
    expect((await h.stat()).ino).toBe(await inode(path.join(base, "a/b/c")));
    expect((await stat(path.join(base, "a/b"))).mode & 0o777).toBe(0o750 & ~process.umask());
  } finally {
    await h.close();
  }
  await expect(openDirectoryWalk(path.join(base, "missing"), { uid: 0 })).rejects.toMatchObject({ code: "ENOENT" });
});

test("a parent owned by another user, or writable by others without the sticky bit, is refused", async () => {
  await mkdir(path.join(base, "u/a"), { recursive: true });
  await chown(path.join(base, "u"), 65534, 65534);
  await expect(openDirectoryWalk(path.join(base, "u/a/victim"), { create: { mode: 0o755 }, uid: 0 })).rejects.toThrow(`${base}/u is owned by uid 65534; rtsync does not write or chown below a directory another user controls`);
  await mkdir(path.join(base, "open/x"), { recursive: true });
  await chmod(path.join(base, "open"), 0o777);
  await expect(openDirectoryWalk(path.join(base, "open/x"), { uid: 0 })).rejects.toThrow("may be written by anyone and is not sticky");
  await chmod(path.join(base, "open"), 0o1777); // as /tmp
  await (await openDirectoryWalk(path.join(base, "open/x"), { uid: 0 })).close();
  // the last directory itself may be anyone's (a module owned by its transfer user)
  await chown(path.join(base, "open/x"), 65534, 65534);
  await (await openDirectoryWalk(path.join(base, "open/x"), { uid: 0 })).close();
});

test("a symbolic link is followed only when only root could have made it; another user's is refused", async () => {
  await mkdir(path.join(base, "real/in"), { recursive: true });
  await symlink(path.join(base, "real"), path.join(base, "rootlink"));
  const h = await openDirectoryWalk(path.join(base, "rootlink/in"), { uid: 0 });
  expect((await h.stat()).ino).toBe(await inode(path.join(base, "real/in")));
  await h.close();
  await symlink("real", path.join(base, "relative"));
  await (await openDirectoryWalk(path.join(base, "relative/in"), { uid: 0 })).close();
  await symlink(path.join(base, "real"), path.join(base, "theirs"));
  await execa("chown", ["-h", "65534:65534", path.join(base, "theirs")]);
  await expect(openDirectoryWalk(path.join(base, "theirs/in"), { uid: 0 })).rejects.toThrow(`${base}/theirs is a symbolic link owned by uid 65534`);
});
