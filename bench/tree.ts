import { mkdir, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";

// Source trees of small files, ~100 per directory, 100 directories per group:
//   g000/d00/f00.txt … g000/d99/f99.txt, g001/d00/…
// The layout and contents are pure functions of the size, so a file the benchmark deleted can be
// put back exactly.

export const FILES_PER_DIR = 100;
const DIRS_PER_GROUP = 100;

export interface TreeLayout {
  readonly files: number;
  /** directories holding files, relative to the root */
  readonly dirs: readonly string[];
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

export function planTree(files: number): TreeLayout {
  const dirs: string[] = [];
  const count = Math.ceil(files / FILES_PER_DIR);
  for (let d = 0; d < count; d++) dirs.push(`g${pad(Math.floor(d / DIRS_PER_GROUP), 3)}/d${pad(d % DIRS_PER_GROUP, 2)}`);
  return { files, dirs };
}

export function fileName(index: number): string {
  return `f${pad(index, 2)}.txt`;
}

/** Files of directory `d` (the last directory may hold fewer). */
export function filesInDir(layout: TreeLayout, d: number): number {
  return Math.max(0, Math.min(FILES_PER_DIR, layout.files - d * FILES_PER_DIR));
}

/** Deterministic content of file `index` of directory `dir`: 100–200 bytes of text. */
export function fileContent(dir: string, index: number): string {
  const line = `${dir}/${fileName(index)} rtsync benchmark\n`;
  return line.repeat(Math.ceil((100 + ((index * 37) % 100)) / line.length));
}

/** Writes the tree under `root`; `concurrency` directories at a time. Returns the seconds taken. */
export async function writeTree(root: string, layout: TreeLayout, concurrency = 8): Promise<number> {
  // a relative root would build g000/… under whatever the cwd is (the repo, when run by npm)
  if (!isAbsolute(root)) throw new Error(`writeTree: the root must be an absolute path, got "${root}"`);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let d = next++; d < layout.dirs.length; d = next++) {
      const dir = layout.dirs[d] as string;
      await mkdir(join(root, dir), { recursive: true });
      const writes: Promise<void>[] = [];
      for (let i = 0; i < filesInDir(layout, d); i++) writes.push(writeFile(join(root, dir, fileName(i)), fileContent(dir, i)));
      await Promise.all(writes);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}
