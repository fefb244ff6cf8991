import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

// The watcher's children (inotifywait, rsync) must not outlive it: a leftover inotifywait holds
// its inotify instance and one watch per directory until the next write under the tree, and a
// leftover full sync races the next watcher's. Two mechanisms:
//
// - The long-lived children (inotifywait, full syncs, rename steps, the deletion guard's listing)
//   run under util-linux's `setpriv --pdeathsig SIGTERM` (when the spec names setpriv): the
//   kernel sends them SIGTERM when the watcher dies, whatever killed it, SIGKILL and the OOM
//   killer included. setpriv sets the flag and execs the program in place, so the child's pid is
//   the program's and no process is added.
// - Incremental runs are not wrapped: they are the latency path, and setpriv's exec measured
//   +1.3-2 ms per spawn on a quiet machine, +5 ms at load 6 (a push is 15-35 ms). One that
//   outlives a killed watcher holds no watches and exits once it has sent the batch it was given.
// - When the watcher exits on its own (a crash, an uncaught error), its 'exit' handler sends
//   SIGTERM to every child it still has (killLiveChildren), wrapped or not.
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
