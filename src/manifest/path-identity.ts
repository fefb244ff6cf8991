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

// The real path of the deepest existing ancestor of `dir`, with the missing rest appended.
function realDir(dir: string): string {
  const missing: string[] = [];
  let cur = dir;
  for (;;) {
    try {
      return join(realpathSync(cur), ...missing.reverse());
    } catch {
      if (cur === "/") return join("/", ...missing.reverse());
      missing.push(basename(cur));
      cur = dirname(cur);
    }
  }
}

/** Observes the file system: the identity of `path` as it is now. */
export function readPathIdentity(path: string): PathIdentity {
  const real = path === "/" ? "/" : join(realDir(dirname(path)), basename(path));
  try {
    const s = statSync(path);
    return { path: real, inode: `${s.dev}:${s.ino}` };
  } catch {
    return { path: real };
  }
}
