import { expect, test } from "vitest";
import { buildFullArgs, buildIncrementalArgs, buildTargetListArgs } from "./args.ts";

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
    "--timeout=60",
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
  expect(args.slice(7, 10)).toEqual(["--sockopts=TCP_NODELAY", "--contimeout=15", "--password-file=/var/lib/rtsync/w/password"]);
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
    "--timeout=60",
    "--sockopts=TCP_NODELAY",
    "--contimeout=15",
    "--password-file=/var/lib/rtsync/w/password",
    "--info=stats2,progress2",
    "--timeout=100",
    "--exclude=*.swp",
    "--exclude=.cache/",
    "/data/src/",
    "rsync://backup@10.0.0.2:873/backup/",
  ]);
});

test("maxDelete caps a full sync's deletions; incremental runs delete only what was deleted", () => {
  const capped = { ...daemon, maxDelete: 1000 };
  expect(buildFullArgs(capped).slice(0, 3)).toEqual(["-a", "--delete-delay", "--max-delete=1000"]);
  expect(buildIncrementalArgs(capped).join(" ")).not.toContain("max-delete");
  expect(buildFullArgs(daemon).join(" ")).not.toContain("max-delete");
});

test("the deletion guard lists the target's top level with the job's excludes and transport", () => {
  expect(buildTargetListArgs(daemon)).toEqual([
    "--list-only",
    "--timeout=60",
    "--sockopts=TCP_NODELAY",
    "--contimeout=15",
    "--password-file=/var/lib/rtsync/w/password",
    "--exclude=*.swp",
    "--exclude=.cache/",
    "rsync://backup@10.0.0.2:873/backup/",
  ]);
});

test("every run, the guard's listing included, has an I/O timeout of 60 s unless the user's rsyncArgs set one, which come later and win", () => {
  const runs = (spec: typeof local) => [buildIncrementalArgs(spec), buildFullArgs(spec), buildTargetListArgs(spec)];
  const lastTimeout = (args: string[]) => args.filter((a) => a.startsWith("--timeout=")).at(-1);
  for (const spec of [local, daemon]) {
    for (const args of runs({ ...spec, rsyncArgs: [] })) expect(lastTimeout(args)).toBe("--timeout=60");
    for (const args of runs({ ...spec, rsyncArgs: ["--timeout=5"] }).slice(0, 2)) expect(lastTimeout(args)).toBe("--timeout=5");
  }
});
