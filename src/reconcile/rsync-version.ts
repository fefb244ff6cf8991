import { execa } from "execa";
import { RtsyncError } from "../core/errors.ts";
import { judgeRsyncVersion, parseRsyncVersion } from "../manifest/rsync-version.ts";
import { readRsyncPath } from "./inputs.ts";

// Reads the version of the rsync that would run the daemons (found by the trusted lookup) and
// judges it (manifest/rsync-version.ts). Only observes.

/**
 * Warnings about the rsync a daemon would run; throws when it must not run one. `accept` is the
 * node policy's rsync.acceptVersion.
 */
export async function readRsyncVersionWarnings(pathVar: string, accept: string | undefined): Promise<string[]> {
  const rsync = await readRsyncPath(pathVar);
  const run = await execa(rsync, ["--version"], { env: { PATH: "/usr/bin:/bin", LC_ALL: "C" }, extendEnv: false, stdin: "ignore", reject: false, timeout: 10_000 });
  const version = parseRsyncVersion(String(run.stdout));
  if (version === undefined) return [`cannot tell the version of ${rsync} (rsync --version printed no version); make sure it is rsync 3.5.0 or later`];
  const verdict = judgeRsyncVersion(version, accept);
  switch (verdict.level) {
    case "ok":
      return [];
    case "warn":
      return [`${rsync}: ${verdict.message}`];
    case "refuse":
      throw new RtsyncError("E_RSYNC_VERSION", "system", `${rsync}: ${verdict.message}`);
  }
}
