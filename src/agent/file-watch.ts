import { constants, watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createHash } from "node:crypto";

// Notices edits of the manifest and of the password files it reads. It watches their
// directories, not the files: an editor saves by writing a new file and renaming it over the
// old one (a new inode), and Kubernetes swaps a ConfigMap's `..data` symlink; a watch on the old
// inode would see neither. Any event in such a directory leads to a look at the files' content
// (after a short quiet spell), and only a different content counts as a change.

export interface FileWatch {
  /** Watch these files from now on (their directories, really). */
  update(files: readonly string[]): void;
  close(): void;
}

/** The content of every file, as one hash (a missing file counts as its own value). Only reads. */
export async function readFingerprint(files: readonly string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const f of [...files].sort()) {
    hash.update(`${f}\0`);
    // O_NONBLOCK: a name swapped for a FIFO (a symlink committed to a checkout) must not hang the agent.
    hash.update(await readFile(f, { flag: constants.O_RDONLY | constants.O_NONBLOCK }).catch((e: NodeJS.ErrnoException) => `\0missing:${e.code ?? "?"}`));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** Calls `onEvent` (at most every `quietMs`) after anything happened in the files' directories. */
export function startFileWatch(onEvent: () => void, quietMs = 100): FileWatch {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onEvent, quietMs);
  };
  const watchDir = (dir: string): void => {
    try {
      const w = watch(dir, { persistent: false }, fire);
      // A directory that goes away ends its watch; the next update() (every reconcile) tries again.
      w.on("error", () => {
        w.close();
        watchers.delete(dir);
      });
      watchers.set(dir, w);
    } catch {
      // Missing for now: the interval tick still reads the files.
    }
  };
  return {
    update(files) {
      const dirs = new Set(files.map((f) => dirname(f)));
      for (const [dir, w] of watchers) {
        if (dirs.has(dir)) continue;
        w.close();
        watchers.delete(dir);
      }
      for (const dir of dirs) if (!watchers.has(dir)) watchDir(dir);
    },
    close() {
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
