import { constants } from "node:fs";
import { lstat, mkdir, open, readlink, type FileHandle } from "node:fs/promises";
import path from "node:path";

// Opens a directory as root without being led elsewhere: the path is walked from "/" one name at
// a time, each opened with O_NOFOLLOW|O_DIRECTORY below the descriptor of its parent (Node has no
// openat: /proc/self/fd/N/NAME is resolved by the kernel from the open directory N, whatever has
// been renamed since, and O_NOFOLLOW applies to NAME). So a parent renamed or exchanged
// (renameat2 RENAME_EXCHANGE) for a symlink between a check and the use cannot redirect a mkdir,
// a write or a chown: the caller chowns and writes through the descriptor it gets.
//
// Every directory above the last one must be root's (or the caller's own uid's), and one that
// group or others may write must be sticky (as /tmp is): a parent another user controls could be
// swapped for anything. A symbolic link on the way is followed only when nobody but root could
// have made or replaced it (owned by root, in a directory only root may write), as /var/run -> /run.

const DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const MAX_LINKS = 40;

export class WalkRefused extends Error {}

export interface WalkOptions {
  /** Create missing directories with this mode (mkdir -p), else a missing one is ENOENT. */
  readonly create?: { readonly mode: number };
  /** The caller's uid: directories it owns are trusted as root's are. */
  readonly uid: number;
}

const at = (dir: FileHandle, name: string): string => `/proc/self/fd/${dir.fd}/${name}`;

async function checkParent(dir: FileHandle, shown: string, uid: number): Promise<void> {
  const s = await dir.stat();
  if (s.uid !== 0 && s.uid !== uid) throw new WalkRefused(`${shown} is owned by uid ${s.uid}; rtsync does not write or chown below a directory another user controls`);
  if ((s.mode & 0o022) !== 0 && (s.mode & 0o1000) === 0) throw new WalkRefused(`${shown} may be written by ${(s.mode & 0o002) !== 0 ? "anyone" : "its group"} and is not sticky; rtsync does not write or chown below it`);
}

async function openStep(dir: FileHandle, name: string, o: WalkOptions): Promise<FileHandle> {
  try {
    return await open(at(dir, name), DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" || o.create === undefined) throw e;
  }
  await mkdir(at(dir, name), { mode: o.create.mode }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
  return open(at(dir, name), DIR);
}

/** The directory at `target` (absolute), opened by walking it; the caller closes it. */
export async function openDirectoryWalk(target: string, o: WalkOptions): Promise<FileHandle> {
  const todo = path.resolve(target).split("/").filter(Boolean);
  let dir = await open("/", DIR);
  let shown = "/";
  let links = 0;
  try {
    while (todo.length > 0) {
      const name = todo.shift() as string;
      await checkParent(dir, shown, o.uid);
      let next: FileHandle;
      try {
        next = await openStep(dir, name, o);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ELOOP" && code !== "ENOTDIR") throw e;
        const link = await readlink(at(dir, name)).catch(() => undefined);
        if (link === undefined) throw new WalkRefused(`${path.join(shown, name)} is not a directory`);
        const parent = await dir.stat();
        const { uid } = await lstat(at(dir, name));
        if (uid !== 0 || (parent.mode & 0o022) !== 0 || ++links > MAX_LINKS) {
          throw new WalkRefused(`${path.join(shown, name)} is a symbolic link${uid !== 0 ? ` owned by uid ${uid}` : ""}; rtsync does not follow links another user could have made: use the real path`);
        }
        todo.unshift(...link.split("/").filter(Boolean));
        if (link.startsWith("/")) {
          await dir.close();
          dir = await open("/", DIR);
          shown = "/";
        }
        continue;
      }
      await dir.close();
      dir = next;
      shown = path.join(shown, name);
    }
    return dir;
  } catch (e) {
    await dir.close();
    throw e;
  }
}
