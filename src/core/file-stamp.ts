import { statSync } from "node:fs";

/**
 * A file's identity and version as stat sees it: inode, modification time and size ("none" when
 * it is missing). Two equal stamps mean nobody replaced or rewrote the file in between.
 */
export function fileStamp(file: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  return st === undefined ? "none" : `${st.ino}:${st.mtimeMs}:${st.size}`;
}
