import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

// Finding the programs rtsync runs (rsync, inotifywait) on a PATH, once, when apply writes what
// runs; the watcher then uses the recorded absolute paths. Only observes the file system.
//
// rtsync runs as root, and a PATH is the caller's: a relative or empty entry (the current
// directory) is skipped, and a program, or the directory it is in, that another user could have
// replaced (not owned by root or by rtsync's user, or writable by group or others) is passed over.

function trusted(file: string, uid: number): boolean {
  try {
    for (const p of [file, path.dirname(file)]) {
      const s = statSync(p);
      if ((s.uid !== 0 && s.uid !== uid) || (s.mode & 0o022) !== 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on `pathVar` that only root (or `uid`) could have put there. Synchronous stats (a few per PATH entry; see state/document.ts). */
export async function findExecutable(name: string, pathVar: string, uid: number = process.getuid?.() ?? 0): Promise<string | undefined> {
  for (const dir of pathVar.split(path.delimiter)) {
    if (dir === "" || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    if (trusted(candidate, uid)) return candidate;
  }
  return undefined;
}
