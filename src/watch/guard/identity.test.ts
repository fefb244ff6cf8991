import { describe, expect, test } from "vitest";
import type { SourceIdentity } from "../../state/source-identity.ts";
import { compareIdentity, identityHaltMessage, mountHolding, parseMountInfo } from "./identity.ts";

const DISK = 65024; // 254:0
const ROOT_MOUNT = { id: 22, root: "/", point: "/", fstype: "ext4" };
const dir: SourceIdentity = { type: "directory", dev: DISK, ino: 1234, mount: ROOT_MOUNT, bootId: "boot-1" };
const now = (identity: SourceIdentity) => ({ exists: true as const, identity });

describe("the source root's identity against the one recorded", () => {
  test("the same root: the same", () => {
    expect(compareIdentity("/srv/www", dir, now(dir))).toEqual({ same: true, refresh: false });
  });

  test("missing", () => {
    expect(compareIdentity("/srv/www", dir, { exists: false, why: "no such file or directory" })).toEqual({
      same: false,
      detail: "the source root /srv/www is missing (no such file or directory)",
    });
  });

  test("a symlink in the directory's place (lstat, not stat)", () => {
    const link: SourceIdentity = { ...dir, type: "symlink", ino: 99, link: "/other" };
    expect(compareIdentity("/srv/www", dir, now(link))).toEqual({
      same: false,
      detail: "the source root /srv/www is now a symlink to /other (was directory dev 254:0 ino 1234)",
    });
    // A source that is a symlink on purpose: pointing elsewhere is a change.
    expect(compareIdentity("/srv/www", { ...link, link: "/data" }, now(link))).toMatchObject({ same: false, detail: "the source root /srv/www is now a symlink to /other (was a symlink to /data)" });
  });

  test("a bind mount over it, even on the same device with the same inode, is another mount", () => {
    const bound: SourceIdentity = { ...dir, mount: { id: 45, root: "/tmp/other", point: "/srv/www", fstype: "ext4" } };
    expect(compareIdentity("/srv/www", dir, now(bound))).toEqual({
      same: false,
      detail: "a different mount now holds /srv/www (mount 45 root /tmp/other at /srv/www, was mount 22 root / at /)",
    });
  });

  test("unmounted: the directory underneath belongs to the parent's mount", () => {
    const mounted: SourceIdentity = { ...dir, dev: 39, ino: 2, mount: { id: 98, root: "/", point: "/srv/www", fstype: "xfs" } };
    expect(compareIdentity("/srv/www", mounted, now(dir))).toEqual({
      same: false,
      detail: "the mount that held /srv/www is gone (was mount 98 root / at /srv/www, xfs; now mount 22 root / at /)",
    });
  });

  test("another directory in its place (moved away, recreated): another inode", () => {
    expect(compareIdentity("/srv/www", dir, now({ ...dir, ino: 777 }))).toMatchObject({ same: false, detail: "the source root /srv/www is now directory dev 254:0 ino 777 (was directory dev 254:0 ino 1234)" });
  });

  test("within a boot the mount ID and the device count; across a reboot only what survives one, and the record is refreshed", () => {
    expect(compareIdentity("/srv/www", dir, now({ ...dir, mount: { ...ROOT_MOUNT, id: 23 } }))).toMatchObject({ same: false });
    expect(compareIdentity("/srv/www", dir, now({ ...dir, dev: 41 }))).toMatchObject({ same: false });
    const rebooted: SourceIdentity = { ...dir, dev: 41, mount: { ...ROOT_MOUNT, id: 23 }, bootId: "boot-2" };
    expect(compareIdentity("/srv/www", dir, now(rebooted))).toEqual({ same: true, refresh: true });
    expect(compareIdentity("/srv/www", dir, now({ ...rebooted, ino: 5 }))).toMatchObject({ same: false });
  });

  test("no mount known on either side: kind and inode decide", () => {
    const { mount: _, ...bare } = dir;
    expect(compareIdentity("/srv/www", bare, now(dir))).toEqual({ same: true, refresh: false });
  });
});

test("mountinfo: fields, octal escapes, the mount that holds a path (the deepest, the topmost of a stack)", () => {
  const text = [
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
    "98 22 0:39 / /tmp rw,relatime shared:50 - tmpfs tmpfs rw",
    "45 98 0:39 /b /tmp/a\\040b rw,relatime - tmpfs tmpfs rw",
    "46 98 254:0 /srv/other /tmp/a\\040b rw,relatime shared:7 master:1 - ext4 /dev/vda rw",
    "",
  ].join("\n");
  const mounts = parseMountInfo(text);
  expect(mounts).toHaveLength(4);
  expect(mounts[2]).toEqual({ id: 45, parent: 98, root: "/b", point: "/tmp/a b", fstype: "tmpfs" });
  expect(mountHolding(mounts, "/tmp/a b/x")).toEqual({ id: 46, root: "/srv/other", point: "/tmp/a b", fstype: "ext4" });
  expect(mountHolding(mounts, "/tmp/ab")).toMatchObject({ id: 98 });
  expect(mountHolding(mounts, "/srv")).toMatchObject({ id: 22 });
  expect(mountHolding([], "/srv")).toBeUndefined();
});

test("the halt message says what changed, that nothing was deleted, and both ways out", () => {
  expect(identityHaltMessage("www", "the source root /srv/www is now a symlink to /other (was directory dev 254:0 ino 1234)")).toBe(
    "source replaced or gone: the source root /srv/www is now a symlink to /other (was directory dev 254:0 ino 1234); nothing deleted on the target; " +
      "every target of watch www halts until the original source is back (it then resumes with a full sync), or `rtsync apply --accept-source www` accepts the new one",
  );
});
