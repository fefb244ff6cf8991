import { constants } from "node:fs";
import { lstat, open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { pathAt } from "./openat.ts";

// Reading a file on a manifest's behalf inside a directory another party fills (a git checkout):
// the file is opened, never resolved: each directory is opened with O_NOFOLLOW|O_DIRECTORY
// *through the descriptor of its parent* (openat.ts). Comparing an lstat with an fstat afterwards would leave a window between
// the two; the descriptor chain leaves none. A symlink at any step is ELOOP, and `..` or an
// absolute path never gets as far as a lookup.

/** Why a file cannot be read beneath a directory: `symlink` names the component that is one. */
export class BeneathError extends Error {
  readonly code: "symlink" | "escapes" | "not-a-file";
  readonly at: string;
  constructor(code: BeneathError["code"], at: string, message: string) {
    super(message);
    this.code = code;
    this.at = at;
  }
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The components of `rel` below its root, or undefined when it is absolute or leaves the root. Pure. */
export function componentsBelow(rel: string): string[] | undefined {
  if (rel === "" || path.isAbsolute(rel)) return undefined;
  const parts = rel.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) return undefined;
  return parts;
}

/**
 * Opens the regular file `rel` beneath the directory `root` (which is trusted as named) read-only,
 * following no symlink on the way; a BeneathError when `rel` leaves `root`, a component is a
 * symlink, or the last one is not a regular file. Other errors (ENOENT, EACCES) pass through.
 */
export async function openBeneath(root: string, rel: string): Promise<FileHandle> {
  const parts = componentsBelow(rel);
  if (parts === undefined) throw new BeneathError("escapes", rel, `${rel} is not a path inside ${root}`);
  let dir = await open(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (const [i, name] of parts.entries()) {
      const last = i === parts.length - 1;
      const at = path.join(root, ...parts.slice(0, i + 1));
      const next = await openStep(dir, name, at, last);
      if (last) {
        if (!(await next.stat()).isFile()) {
          await next.close();
          throw new BeneathError("not-a-file", at, `${at} is not a regular file`);
        }
        return next;
      }
      await dir.close();
      dir = next;
    }
    throw new BeneathError("escapes", rel, `${rel} names no file`);
  } finally {
    await dir.close().catch(() => undefined);
  }
}

// One openat(dirfd, name, O_NOFOLLOW…) step.
async function openStep(dir: FileHandle, name: string, at: string, last: boolean): Promise<FileHandle> {
  try {
    return await open(pathAt(dir, name), last ? FILE_FLAGS : DIR_FLAGS);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ELOOP: O_NOFOLLOW met a symlink (as the last component, or under O_DIRECTORY).
    if (code === "ELOOP") throw new BeneathError("symlink", at, `${at} is a symlink`);
    // ENOTDIR under O_DIRECTORY|O_NOFOLLOW: a symlink or a file; lstat says which, for the message only.
    if (code === "ENOTDIR" && !last) {
      const link = await lstat(pathAt(dir, name)).then((s) => s.isSymbolicLink(), () => false);
      throw link ? new BeneathError("symlink", at, `${at} is a symlink`) : new BeneathError("not-a-file", at, `${at} is not a directory`);
    }
    throw e;
  }
}

/** The text of `rel` beneath `root` (see openBeneath), at most `maxBytes` bytes (more is an error). */
export async function readBeneath(root: string, rel: string, maxBytes: number): Promise<string> {
  const handle = await openBeneath(root, rel);
  try {
    const size = (await handle.stat()).size;
    if (size > maxBytes) throw new BeneathError("not-a-file", path.join(root, rel), `${path.join(root, rel)} is ${size} bytes, over the limit of ${maxBytes}`);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}
