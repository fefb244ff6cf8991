import { execa } from "execa";
import { expect, test } from "vitest";
import { BIN, REPO, rtsync } from "../helpers/cli.ts";
import { toolPaths } from "../helpers/tools.ts";

// `rtsync --version` from the build: rtsync's version and the commit the build was made from
// (baked in: an installed tarball has no git), the rsync and inotifywait found on PATH, whether
// the inotify addon loads and which event source `watcher: auto` therefore runs.

test("rtsync --version names the build's commit, the tools found and the addon", async () => {
  const { rsync, inotifywait } = await toolPaths();
  const head = String((await execa("git", ["-C", REPO, "rev-parse", "--short=12", "HEAD"])).stdout).trim();
  const { version } = JSON.parse(String((await execa("cat", [`${REPO}package.json`])).stdout)) as { version: string };
  const r = await rtsync(["--version"]);
  expect(r.exitCode).toBe(0);
  const lines = r.stdout.split("\n");
  // The build's commit: this checkout's HEAD (the build was made from it, perhaps with edits).
  expect(lines[0]).toMatch(new RegExp(`^rtsync ${version.replace(/\./g, "\\.")} \\(git ${head}(-dirty)?, built \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\)$`));
  expect(lines[1]).toBe(`node ${process.version}`);
  expect(lines[2]).toMatch(new RegExp(`^rsync \\d+\\.\\d+\\.\\d+ \\(${rsync}\\)$`));
  expect(lines[3]).toMatch(new RegExp(`^inotifywait \\d+(\\.\\d+)+ \\(${inotifywait ?? "none"}\\)$`));
  expect(lines[4]).toMatch(/^inotify addon: loaded \(.*\/build\/Release\/rtsync_inotify\.node\)$/);
  expect(lines[5]).toBe("watches with watcher: auto use inotify (auto: rtsync's inotify addon is built)");
  expect((await rtsync(["-V"])).stdout).toBe(r.stdout);
});

test("without rsync and inotifywait on PATH: it says so, and what each is for", async () => {
  const run = (...args: string[]) => execa(process.execPath, [BIN, ...args], { env: { PATH: "/nonexistent" }, extendEnv: false, reject: false });
  const r = await run("--version", "--json");
  expect(r.exitCode).toBe(0);
  expect(JSON.parse(String(r.stdout))).toMatchObject({ rsync: { found: false }, inotifywait: { found: false }, addon: { ok: true }, auto: { source: "inotify" } });
  const text = await run("--version");
  expect(String(text.stdout)).toContain("\nrsync: not found (apt-get install rsync: daemons and watches need it)\n");
  expect(String(text.stdout)).toContain("\ninotifywait: not found (apt-get install inotify-tools: the event source where the addon is not built)\n");
});
