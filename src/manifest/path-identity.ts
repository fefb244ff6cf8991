import { realpathSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

// Which file a path names on this machine, so that two spellings of one file (a symlinked parent,
// a hard link) are one claim (issue 19: `sysctlFile: …/etc/s` and `secretsFile: …/etclink/s`
// with `etclink -> etc`). The collision check is pure and takes this as a function; the reader
// below only observes.

export interface PathIdentity {
  /** The real parent directory (as far as it exists) plus the name. */
  readonly path: string;
  /** device:inode of what the path names, when it exists. */
  readonly inode?: string;
}

/** Maps a normalised absolute path to its identity. */
export type PathIdentify = (path: string) => PathIdentity;

// The real path of `dir`: of its deepest existing ancestor, with the missing rest appended.
// `seen` remembers directories already resolved (a manifest names many paths in few directories).
function realDir(dir: string, seen: Map<string, string>): string {
  const known = seen.get(dir);
  if (known !== undefined) return known;
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    real = dir === "/" ? "/" : join(realDir(dirname(dir), seen), basename(dir));
  }
  seen.set(dir, real);
  return real;
}

/** Observes the file system: the identity of `path` as it is now. */
export function readPathIdentity(path: string, seen: Map<string, string> = new Map()): PathIdentity {
  const real = path === "/" ? "/" : join(realDir(dirname(path), seen), basename(path));
  // No exception for a path that does not exist (most do not, yet): thousands of them cost.
  const s = statSync(path, { throwIfNoEntry: false });
  return s === undefined ? { path: real } : { path: real, inode: `${s.dev}:${s.ino}` };
}

/** readPathIdentity with the directories it resolved remembered: for one manifest's checks. */
export function pathIdentifier(): PathIdentify {
  const seen = new Map<string, string>();
  return (path) => readPathIdentity(path, seen);
}
