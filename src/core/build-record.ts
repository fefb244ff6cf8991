import { readFileSync } from "node:fs";

// What scripts/build.ts writes beside the bundles (dist/build-info.json): the version and the git
// commit the build was made from. An installed tarball has no git to ask, so `rtsync --version`
// and the agent's rtsync_build_info both read this one record. Only observes.

export interface BuildRecord {
  readonly version: string;
  /** The commit built (12 hex digits), with "-dirty" when tracked files had changes; null without git. */
  readonly revision: string | null;
  readonly builtAt: string;
}

/** The build's record (dist/build-info.json, beside dist/cli/ and dist/watcher/); undefined when run from source. */
export function readBuildRecord(file: URL = new URL("../build-info.json", import.meta.url)): BuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as BuildRecord;
  } catch {
    return undefined;
  }
}

/** The package's version from its package.json (two levels up: from src/core/, or from a bundle in dist/cli/ or dist/watcher/); "unknown" when it cannot be read. */
export function readPackageVersion(file: URL = new URL("../../package.json", import.meta.url)): string {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { version?: unknown }).version?.toString() ?? "unknown";
  } catch {
    return "unknown";
  }
}
