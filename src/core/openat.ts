import type { FileHandle } from "node:fs/promises";

// Node has no openat(2): /proc/self/fd/N/NAME is its equivalent. The kernel resolves NAME in the
// directory descriptor N holds, whatever has been renamed or swapped at that directory's old path
// since, and O_NOFOLLOW given with it applies to NAME. dir-walk.ts (writes, as root) and
// open-beneath.ts (reads inside a checkout) step through directories with it.

/** The path that names `name` inside the open directory `dir`. */
export function pathAt(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}
