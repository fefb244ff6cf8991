import { cp, mkdir, readFile, rm, symlink } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO } from "../helpers/cli.ts";
import { makeTempDir } from "../helpers/manifest-fixture.ts";
import { toolPaths } from "../helpers/tools.ts";

// The install without a compiler (CXX=false: the build fails as it does where there is none):
// `npm install` still succeeds, and its one line names the watcher that will really run: inotifywait
// where it is installed, chokidar where it is not. The install script runs in a copy of what the
// package ships, never in this checkout (node-gyp rebuild would remove its addon).

let dir: string;
let pkg: string;
beforeAll(async () => {
  dir = await makeTempDir("rtsync-install-");
  pkg = `${dir}/pkg`;
  await mkdir(`${pkg}/scripts`, { recursive: true });
  for (const f of ["binding.gyp", "package.json", "native", "scripts/build-addon.mjs"]) await cp(`${REPO}${f}`, `${pkg}/${f}`, { recursive: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const install = (path: string) => execa(process.execPath, ["scripts/build-addon.mjs"], { cwd: pkg, reject: false, env: { PATH: path, CXX: "false", CC: "false", HOME: dir } });

test("no compiler, inotifywait installed: the install succeeds and names inotifywait", async () => {
  const { inotifywait } = await toolPaths();
  if (inotifywait === undefined) throw new Error("inotifywait is not installed (CI installs inotify-tools)");
  const r = await install("/usr/bin:/bin");
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^rtsync: inotify addon not built \\(node-gyp rebuild failed: .+\\); watches will use inotifywait \\(${inotifywait}\\)$`));
  expect(await readFile(`${pkg}/build/inotify-addon-error.txt`, "utf8")).toMatch(/^node-gyp rebuild failed: /);
});

test("no compiler and no inotifywait: the install succeeds and names chokidar", async () => {
  // A PATH with python3 only (node-gyp's configure), no inotifywait.
  await mkdir(`${dir}/bin`);
  const { stdout: python } = await execa("sh", ["-c", "command -v python3"]);
  await symlink(python, `${dir}/bin/python3`);
  const r = await install(`${dir}/bin`);
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(/^rtsync: inotify addon not built \(node-gyp rebuild failed: .+\); watches will use chokidar \(inotifywait is not installed: apt-get install inotify-tools for it\)$/);
});
