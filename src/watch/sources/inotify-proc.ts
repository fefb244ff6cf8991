import { lstat, opendir, readFile, readdir, readlink } from "node:fs/promises";
import path from "node:path";

// Observations of the kernel's inotify state, for the status file and for clear limit errors.

// The fdinfo text of each inotify instance a process holds (one "inotify wd:" line per watch),
// or undefined when /proc can't tell or it holds none.
async function readInotifyFdinfos(pid: number): Promise<string[] | undefined> {
  try {
    const infos: string[] = [];
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      if (link === "anon_inode:inotify") infos.push(await readFile(`/proc/${pid}/fdinfo/${fd}`, "latin1"));
    }
    return infos.length > 0 ? infos : undefined;
  } catch {
    return undefined;
  }
}

/** Inotify watches a process holds, from /proc/PID/fdinfo; undefined when /proc can't tell. */
export async function readInotifyWatches(pid: number): Promise<number | undefined> {
  const infos = await readInotifyFdinfos(pid);
  if (infos === undefined) return undefined;
  // One line per watch: a megabyte at a million files, so counted without splitting it.
  let watches = 0;
  for (const info of infos) {
    for (let at = info.indexOf("inotify wd:"); at >= 0; at = info.indexOf("inotify wd:", at + 11)) watches++;
  }
  return watches;
}

/**
 * The current fs.inotify.max_user_watches, or undefined off Linux. Inside a user namespace (a
 * container) the lower of it and the namespace's own user.max_inotify_watches is what counts.
 */
export async function readMaxUserWatches(): Promise<number | undefined> {
  const read = (file: string): Promise<number | undefined> =>
    readFile(file, "latin1").then(
      (text) => Number.parseInt(text, 10),
      () => undefined,
    );
  const [global, namespace] = await Promise.all([read("/proc/sys/fs/inotify/max_user_watches"), read("/proc/sys/user/max_inotify_watches")]);
  if (global === undefined || namespace === undefined) return global;
  return Math.min(global, namespace);
}

/** Directories in a tree, the root included: the inotify watches it needs. Symlinks are not followed. */
export async function countDirectories(root: string): Promise<number> {
  let count = 0;
  const stack: string[] = [root];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    count++;
    try {
      for await (const entry of await opendir(dir)) {
        if (entry.isDirectory()) stack.push(path.join(dir, entry.name));
      }
    } catch {
      // Vanished or unreadable: it needs no watch we can count.
    }
  }
  return count;
}

/** The inodes a process's inotify instances watch, from /proc/PID/fdinfo; undefined when /proc can't tell. */
export async function readWatchedInodes(pid: number): Promise<Set<number> | undefined> {
  const infos = await readInotifyFdinfos(pid);
  if (infos === undefined) return undefined;
  const inodes = new Set<number>();
  for (const info of infos) {
    for (const m of info.matchAll(/^inotify wd:\S+ ino:([0-9a-f]+)/gm)) inodes.add(Number.parseInt(m[1] ?? "", 16));
  }
  return inodes;
}

/**
 * The first directory at or under `dirs` (absolute byte paths) whose inode is not in `watched`,
 * or undefined when each is watched (or vanished). Symlinks are not followed. Past `maxDirs`
 * directories it stops and answers the last one seen: too many to check is treated as a miss.
 */
export async function findUnwatchedDirectory(dirs: readonly Buffer[], watched: ReadonlySet<number>, maxDirs = 10_000): Promise<Buffer | undefined> {
  const stack = [...dirs];
  let seen = 0;
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    let ino: number;
    try {
      const st = await lstat(dir);
      if (!st.isDirectory()) continue;
      ino = st.ino;
    } catch {
      continue; // vanished: nothing to watch
    }
    if (!watched.has(ino) || ++seen > maxDirs) return dir;
    try {
      for (const entry of await readdir(dir, { withFileTypes: true, encoding: "buffer" })) {
        if (entry.isDirectory()) stack.push(Buffer.concat([dir, Buffer.from("/"), entry.name]));
      }
    } catch {
      // Vanished or unreadable meanwhile.
    }
  }
  return undefined;
}
