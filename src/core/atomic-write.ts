import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { openDirectoryWalk } from "./dir-walk.ts";

// Writes a file so that a reader sees the old content or the new one, never a mix, and so that
// it cannot be turned against the machine when rtsync runs as root:
// - the temp file is created beside the target with O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or
//   symlink of that name makes the open fail instead of being written through),
// - it has its final mode from the first byte (a secrets file is never readable by others),
// - owner and mode are set on the open descriptor (fchown/fchmod), never by path after a check,
// - a symbolic link at the final path is refused, not followed or replaced,
// - the directory is opened by walking it from "/" (dir-walk.ts), and the temp file is made and
//   renamed through that descriptor: a parent exchanged for a link meanwhile cannot redirect it.

export interface AtomicWriteOptions {
  readonly mode: number;
  /** Owner to give the file (needs root unless it is the caller's own uid/gid). */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** fsync before the rename (state documents rewritten every 250 ms skip it). */
  readonly fsync?: boolean;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Replaces `file` with `data` atomically; throws the OS error (ELOOP for a symlink at `file`). */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions): Promise<void> {
  const dir = await openDirectoryWalk(path.dirname(path.resolve(file)), { uid: process.getuid?.() ?? 0 });
  try {
    const inDir = (name: string): string => `/proc/self/fd/${dir.fd}/${name}`;
    const name = path.basename(file);
    const existing = await lstat(inDir(name)).catch(() => undefined);
    if (existing?.isSymbolicLink()) {
      throw Object.assign(new Error(`refusing to replace ${file}: it is a symbolic link`), { code: "ELOOP" });
    }
    const temp = inDir(`.${name}.rtsync-${randomBytes(6).toString("hex")}`);
    const handle = await open(temp, CREATE, options.mode & 0o7777);
    try {
      try {
        if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
        await handle.chmod(options.mode & 0o7777); // the umask narrowed the mode given to open()
        await handle.writeFile(data);
        if (options.fsync !== false) await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, inDir(name));
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  } finally {
    await dir.close();
  }
}
