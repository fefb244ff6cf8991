import { expect, test } from "vitest";
import { buildFullArgs, buildIncrementalArgs } from "./args.ts";

const local = { source: "/data/src", target: "/backup/dst", daemonTarget: false, exclude: ["*.swp", ".cache/"], rsyncArgs: ["--timeout=100"] };
const daemon = { ...local, target: "rsync://backup@10.0.0.2:873/backup", daemonTarget: true, passwordFile: "/var/lib/rtsync/w/password" };

test("an incremental run reads its list on stdin; user excludes come before the list", () => {
  expect(buildIncrementalArgs(local)).toEqual([
    "-a",
    "--ignore-times",
    "--delete",
    "--ignore-errors",
    "--force",
    "--from0",
    "--info=stats1",
    "--timeout=100",
    "--exclude=*.swp",
    "--exclude=.cache/",
    "--include-from=-",
    "--exclude=*",
    "/data/src/",
    "/backup/dst/",
  ]);
});

test("daemon targets get TCP_NODELAY, a connect timeout and the password file, never a password", () => {
  const args = buildIncrementalArgs(daemon);
  expect(args.slice(6, 9)).toEqual(["--sockopts=TCP_NODELAY", "--contimeout=15", "--password-file=/var/lib/rtsync/w/password"]);
  expect(args.at(-1)).toBe("rsync://backup@10.0.0.2:873/backup/");
  expect(args.join(" ")).not.toMatch(/RSYNC_PASSWORD|--password=/);
});

test("--delete-excluded never reaches an incremental run (it would delete everything unlisted)", () => {
  expect(buildIncrementalArgs({ ...local, rsyncArgs: ["--delete-excluded", "-z"] })).toContain("-z");
  expect(buildIncrementalArgs({ ...local, rsyncArgs: ["--delete-excluded"] })).not.toContain("--delete-excluded");
  expect(buildFullArgs({ ...local, rsyncArgs: ["--delete-excluded"] })).toContain("--delete-excluded");
});

test("a full sync is rsync -a --delete-delay of the whole tree with the excludes", () => {
  expect(buildFullArgs(daemon, { progress: true })).toEqual([
    "-a",
    "--delete-delay",
    "--sockopts=TCP_NODELAY",
    "--contimeout=15",
    "--password-file=/var/lib/rtsync/w/password",
    "--info=stats1,progress2",
    "--timeout=100",
    "--exclude=*.swp",
    "--exclude=.cache/",
    "/data/src/",
    "rsync://backup@10.0.0.2:873/backup/",
  ]);
});
