import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

// The watcher's children (inotifywait, rsync) must not outlive it: a leftover inotifywait holds
// its inotify instance and one watch per directory until the next write under the tree, and a
// leftover full sync races the next watcher's. Two mechanisms:
//
// - Every child runs under util-linux's `setpriv --pdeathsig SIGTERM` (when the spec names
//   setpriv): the kernel sends it SIGTERM when the watcher dies, whatever killed the watcher,
//   SIGKILL and the OOM killer included. setpriv sets the flag and execs the program in place, so
//   the child's pid is the program's and no process is added. It costs one exec (~1.5 ms).
// - When the watcher exits on its own (a crash, an uncaught error), its 'exit' handler sends
//   SIGTERM to the children it still has (killLiveChildren), without waiting for the kernel.
//
// Reaping leftovers at the next start was the other option: it needs a marker to find them, does
// nothing until the watcher is started again, and cannot tell a leftover full sync from one that
// is about to finish. pdeathsig leaves nothing to reap.

/** The command line that runs `binary args` so that it dies with this process. Pure. */
export function buildChildCommand(binary: string, args: readonly string[], setpriv: string | undefined): { readonly file: string; readonly args: string[] } {
  if (setpriv === undefined) return { file: binary, args: [...args] };
  return { file: setpriv, args: ["--pdeathsig", "SIGTERM", "--", binary, ...args] };
}

const live = new Set<ChildProcess>();

/** Spawns a child of the watcher (under setpriv when given) and keeps it on the list of live children. */
export function spawnChild(binary: string, args: readonly string[], setpriv: string | undefined, options: SpawnOptions): ChildProcess {
  const command = buildChildCommand(binary, args, setpriv);
  const child = spawn(command.file, command.args, options);
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
  return child;
}

/** SIGTERM to every child still running (synchronous: usable from process.on("exit")). */
export function killLiveChildren(): void {
  for (const child of live) child.kill("SIGTERM");
}
