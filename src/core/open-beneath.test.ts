import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { BeneathError, componentsBelow, readBeneath } from "./open-beneath.ts";

let root: string;
let outside: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "rtsync-beneath-"));
  outside = await mkdtemp(path.join(tmpdir(), "rtsync-outside-"));
  await writeFile(path.join(outside, "secret"), "MARKER-OUTSIDE\n");
  await mkdir(path.join(root, "deploy"));
  await writeFile(path.join(root, "deploy", "rtsync.yaml"), "version: 1\n");
  await symlink(path.join(outside, "secret"), path.join(root, "link.yaml"));
  await symlink(outside, path.join(root, "linkdir"));
  await mkdir(path.join(root, "dir.yaml"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

test("a regular file below the root is read", async () => {
  expect(await readBeneath(root, "deploy/rtsync.yaml", 1000)).toBe("version: 1\n");
  expect(await readBeneath(root, "./deploy//rtsync.yaml", 1000)).toBe("version: 1\n");
});

test("a symlink as the file or as a directory on the way is refused, naming it", async () => {
  await expect(readBeneath(root, "link.yaml", 1000)).rejects.toMatchObject({ code: "symlink", at: path.join(root, "link.yaml") });
  await expect(readBeneath(root, "linkdir/secret", 1000)).rejects.toMatchObject({ code: "symlink", at: path.join(root, "linkdir") });
});

test("`..`, an absolute path and a directory are refused; a missing file is ENOENT", async () => {
  expect(componentsBelow("../x")).toBeUndefined();
  expect(componentsBelow("a/../../x")).toBeUndefined();
  expect(componentsBelow("/etc/shadow")).toBeUndefined();
  await expect(readBeneath(root, "../x", 1000)).rejects.toBeInstanceOf(BeneathError);
  await expect(readBeneath(root, "dir.yaml", 1000)).rejects.toMatchObject({ code: "not-a-file" });
  await expect(readBeneath(root, "nothing.yaml", 1000)).rejects.toMatchObject({ code: "ENOENT" });
});
