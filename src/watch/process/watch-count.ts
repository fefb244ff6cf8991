import { readFile, readdir } from "node:fs/promises";
import { readInotifyWatches } from "../sources/inotify-proc.ts";

// The inotify watches this watcher holds now, whichever source it runs: in-process ones
// (chokidar's fs.watch) and those of its children (inotifywait). Read from /proc, so the count in
// status.json follows the tree as directories come and go instead of being measured once.

// Pids of a process's children, from /proc/PID/task/*/children.
async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, "latin1").catch(() => "");
    for (const word of text.split(" ")) if (/^\d+$/.test(word)) out.push(Number(word));
  }
  return out;
}

/** Inotify watches held by `pid` and its children; undefined when /proc cannot tell. */
export async function readTreeWatches(pid: number): Promise<number | undefined> {
  const counts = await Promise.all([pid, ...(await childrenOf(pid))].map((p) => readInotifyWatches(p)));
  const known = counts.filter((n): n is number => n !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0);
}
