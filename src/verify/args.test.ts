import { expect, test } from "vitest";
import { buildVerifyArgs } from "./args.ts";

test("verify is a dry run of the whole tree with the job's excludes and an I/O timeout (a frozen target does not hang it); the password only as a file", () => {
  const daemon = { source: "/srv/data", target: "rsync://backup@10.0.0.2/data", daemonTarget: true, passwordFile: "/var/lib/rtsync/watches/push/password", exclude: ["*.tmp"] };
  expect(buildVerifyArgs(daemon, { checksum: false })).toEqual([
    "-rlni",
    "--delete",
    "--timeout=60",
    "--no-motd",
    "--contimeout=15",
    "--password-file=/var/lib/rtsync/watches/push/password",
    "--exclude=*.tmp",
    "/srv/data/",
    "rsync://backup@10.0.0.2/data/",
  ]);
  expect(buildVerifyArgs({ source: "/a", target: "/b/", daemonTarget: false, exclude: [] }, { checksum: true })).toEqual(["-rlni", "--delete", "--checksum", "--timeout=60", "/a/", "/b/"]);
});
