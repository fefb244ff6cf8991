import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { loadInotifyBinding, planAddonSearch } from "./binding.ts";

test("the addon is looked for in every directory above the module, nearest first", () => {
  expect(planAddonSearch("/opt/rtsync/dist/cli")).toEqual(["/opt/rtsync/dist/cli", "/opt/rtsync/dist", "/opt/rtsync", "/opt", "/"]);
});

// Where the install could not build the addon (no compiler: the watcher uses inotifywait or
// chokidar), the tests that need it are skipped with the install's reason; the rest still run.
const loaded = loadInotifyBinding();
const absent = loaded.ok ? undefined : `the inotify addon is not built here: ${loaded.reason}`;

test("the addon built by npm ci loads from source (vitest runs src directly)", (ctx) => {
  if (absent !== undefined) ctx.skip(absent);
  const load = loadInotifyBinding();
  expect(load.ok ? load.file : load.reason).toMatch(/build\/Release\/rtsync_inotify\.node$/);
});

test("the addon's arguments: a path with a NUL is EINVAL, a path that is not a Buffer a TypeError; a directory lists its subdirectories only", async (ctx) => {
  if (absent !== undefined) ctx.skip(absent);
  const load = loadInotifyBinding();
  if (!load.ok) throw new Error(load.reason);
  const b = load.binding;
  const dir = mkdtempSync(path.join(tmpdir(), "rtsync-binding-"));
  try {
    mkdirSync(path.join(dir, "sub"));
    writeFileSync(path.join(dir, "file"), "x");
    const EINVAL = 22;
    expect(b.readSubdirs(Buffer.from(`${dir}\0/etc`))).toBe(-EINVAL);
    expect(() => b.readSubdirs(dir as unknown as Buffer)).toThrow(TypeError);
    expect(b.readSubdirs(Buffer.from(dir))).toEqual([["sub"], []]);
    const handle = b.open(() => undefined);
    if (typeof handle === "number") throw new Error(`inotify_init1 failed: ${handle}`);
    try {
      expect(b.addWatch(handle, Buffer.from(`${dir}\0x`), 0x100)).toBe(-EINVAL);
      expect(() => b.addWatch(handle, dir as unknown as Buffer, 0x100)).toThrow(TypeError);
      expect(b.addWatch(handle, Buffer.from(dir), 0x100)).toBeGreaterThan(0);
      expect(() => b.read(handle, "x" as unknown as Buffer)).toThrow(TypeError);
    } finally {
      b.close(handle);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
