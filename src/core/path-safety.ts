import { lstatSync, type Stats } from "node:fs";
import path from "node:path";

// Whether rtsync, as root, may write at a path without being led somewhere else: every existing
// ancestor must be a directory, or a symbolic link that only root (or rtsync's own user) could have
// made in a directory nobody else may write (as the system's /var/run -> /run is). A link another
// user made, or one in a directory others can write, could point anywhere. Only observes.

// Synchronous lstat (one per ancestor; see state/document.ts): undefined when it cannot be read.
function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function writableByOthers(mode: number): boolean {
  return (mode & 0o022) !== 0;
}

/** Why writing at `target` could follow a link rtsync did not expect, or undefined. */
export async function readPathHazard(target: string, uid: number): Promise<string | undefined> {
  const parts = path.resolve(target).split("/").filter(Boolean);
  let parent = "/";
  for (const part of parts.slice(0, -1)) {
    const here = path.join(parent, part);
    const s = lstatOrUndefined(here);
    if (s === undefined) return undefined; // the rest will be created by rtsync
    if (s.isSymbolicLink()) {
      const owner = s.uid === 0 || s.uid === uid;
      const dir = lstatOrUndefined(parent);
      if (!owner || (dir !== undefined && writableByOthers(dir.mode) && (dir.mode & 0o1000) === 0)) {
        return `${here} is a symbolic link ${owner ? "in a directory other users can write" : `owned by uid ${s.uid}`}; rtsync does not follow links it did not expect: use the real path`;
      }
    } else if (!s.isDirectory()) {
      return `${here} is not a directory`;
    } else if (s.uid !== 0 && s.uid !== uid) {
      return `${here} is owned by uid ${s.uid}; rtsync does not write or chown below a directory another user controls`;
    } else if (writableByOthers(s.mode) && (s.mode & 0o1000) === 0) {
      return `${here} may be written by ${(s.mode & 0o002) !== 0 ? "anyone" : "its group"} and is not sticky; rtsync does not write or chown below it`;
    }
    parent = here;
  }
  return undefined;
}

/** Whether users other than the owner may write in the directory that holds `file`. */
export async function readDirectoryOpenToOthers(file: string): Promise<boolean> {
  const s = lstatOrUndefined(path.dirname(path.resolve(file)));
  return s !== undefined && writableByOthers(s.mode);
}
