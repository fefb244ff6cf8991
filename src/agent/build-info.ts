import { readBuildRecord, readPackageVersion, type BuildRecord } from "../core/build-record.ts";

// What `rtsync_build_info` says of the running rtsync: its version, the git commit it was built
// from (the build's record, core/build-record.ts, which `rtsync --version` prints too), and Node's
// version. Run from source there is no record: the version comes from package.json and the
// revision is "unknown".

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly nodeVersion: string;
}

/** The version, revision (as the build recorded it, or "unknown") and Node version of this rtsync. */
export function readBuildInfo(record: BuildRecord | undefined = readBuildRecord()): BuildInfo {
  return { version: record?.version ?? readPackageVersion(), revision: record?.revision ?? "unknown", nodeVersion: process.version };
}
