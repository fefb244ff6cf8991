import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";

// Finding programs (rsync, inotifywait, useradd) on a PATH. Only observes the file system.

/** The first executable `name` on `pathVar` (empty entries are skipped: they would mean "."). */
export async function findExecutable(name: string, pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(path.delimiter)) {
    if (dir === "" || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
