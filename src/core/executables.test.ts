import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { findExecutable } from "./executables.ts";

// Real files in a temp dir: which `rsync` on a PATH rtsync would run.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "rtsync-exe-"));
  await chmod(dir, 0o755);
  for (const sub of ["good", "writable", "loose"]) {
    await mkdir(path.join(dir, sub), { mode: 0o755 });
    await writeFile(path.join(dir, sub, "rsync"), "#!/bin/sh\n", { mode: 0o755 });
  }
  await chmod(path.join(dir, "writable"), 0o777); // anyone may replace what is in it
  await chmod(path.join(dir, "loose", "rsync"), 0o777); // anyone may rewrite it
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test("skips empty and relative PATH entries (the current directory) and programs others could replace", async () => {
  const uid = process.getuid?.() ?? 0;
  const p = (sub: string) => path.join(dir, sub);
  expect(await findExecutable("rsync", `:.:relative:${p("writable")}:${p("loose")}:${p("good")}`, uid)).toBe(path.join(p("good"), "rsync"));
  expect(await findExecutable("rsync", `${p("writable")}:${p("loose")}`, uid)).toBeUndefined();
  expect(await findExecutable("rsync", "", uid)).toBeUndefined();
});
