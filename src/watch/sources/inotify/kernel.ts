import { lstatSync } from "node:fs";
import { constants } from "node:os";
import { bytesOf, type BytePath } from "../../byte-path.ts";
import type { InotifyBinding, InotifyHandle } from "./binding.ts";
import { WATCH_MASK } from "./records.ts";

// The side effects the tracker needs, behind one small interface: the real one (the addon and
// fs) and, in unit tests, an in-memory file system that queues inotify events the kernel's way.
// Every path is relative to the watched source, as raw bytes ("" is the source itself).

export interface WatchKernel {
  /** inotify_add_watch with rtsync's mask (directories only, symlinks not followed): the wd or -errno. */
  addWatch(path: BytePath): number;
  rmWatch(wd: number): void;
  /** Names of the subdirectories, by d_type (no stat of files); undefined when it cannot be listed. */
  listSubdirs(path: BytePath): BytePath[] | undefined;
  /** Whether a new non-directory is a regular file with one link: its writer's close follows. */
  isNewRegularFile(path: BytePath): boolean;
}

export const ERRNO = constants.errno;
const SLASH = Buffer.from("/");

/** The real kernel: the addon's inotify instance and Node's fs, on `root` (absolute, no trailing slash). */
export function makeWatchKernel(binding: InotifyBinding, handle: InotifyHandle, root: string): WatchKernel {
  const prefix = bytesOf(root.endsWith("/") ? root : `${root}/`);
  const rootBytes = bytesOf(root === "/" ? root : root.replace(/\/+$/, ""));
  const full = (path: BytePath): Buffer => (path === "" ? rootBytes : Buffer.concat([prefix, bytesOf(path)]));
  return {
    addWatch: (path) => binding.addWatch(handle, full(path), WATCH_MASK),
    rmWatch: (wd) => void binding.rmWatch(handle, wd),
    listSubdirs: (path) => {
      // The addon reads the directory with readdir(3) and hands back only the subdirectories'
      // names (and those of unknown type, which only lstat can tell): no object per file.
      const listed = binding.readSubdirs(full(path));
      if (typeof listed === "number") return undefined;
      const [dirs, unknown] = listed;
      for (const name of unknown) {
        try {
          if (lstatSync(Buffer.concat([full(path), SLASH, bytesOf(name)])).isDirectory()) dirs.push(name);
        } catch {
          // gone meanwhile
        }
      }
      return dirs;
    },
    isNewRegularFile: (path) => {
      try {
        const stat = lstatSync(full(path));
        return stat.isFile() && stat.nlink === 1;
      } catch {
        return false;
      }
    },
  };
}
