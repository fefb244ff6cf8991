import { chmod, chown, lstat, mkdir, readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { FileActual, PathActual } from "../reconcile/types.ts";

// Files and directories: read their state, write them atomically with their final mode.

export async function readPath(path: string): Promise<PathActual> {
  try {
    const s = await lstat(path);
    return { exists: true, isDir: s.isDirectory(), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return { exists: false };
    throw e;
  }
}

export async function readFileState(path: string): Promise<FileActual> {
  try {
    const [content, s] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    return { exists: true, content, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return { exists: false };
    throw e;
  }
}

/**
 * Writes `content` to `path` through a temp file + rename, with `mode` from the start (a secrets
 * file is never readable by others, not even for a moment), creating missing parents (0755).
 */
export async function writeFileSafely(path: string, content: string, mode: number, owner: { uid: number; gid: number }): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  // An explicit chown: write-file-atomic would otherwise keep the owner of the file it replaces.
  await writeFileAtomic(path, content, { mode, chown: owner });
  await chmod(path, mode);
}

export async function setMode(path: string, mode: number): Promise<void> {
  await chmod(path, mode);
}

export async function setOwner(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
}

/** mkdir -p with 0755, so the daemon's transfer user can traverse the new parents. */
export async function makeDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o755 });
}
