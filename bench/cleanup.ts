// Everything the benchmark starts registers how to stop it here, so a failure or Ctrl-C still
// stops every daemon and watcher (by pid: only what this process started) and removes temp trees.

type Cleanup = () => Promise<void> | void;
const cleanups = new Map<number, Cleanup>();
let nextId = 0;

/** Registers `fn`; returns a function that unregisters it without running it. */
export function onCleanup(fn: Cleanup): () => void {
  const id = nextId++;
  cleanups.set(id, fn);
  return () => cleanups.delete(id);
}

/** Runs every registered cleanup, newest first; errors are reported, not thrown. */
export async function runCleanups(): Promise<void> {
  const fns = [...cleanups.entries()].reverse();
  cleanups.clear();
  for (const [, fn] of fns) {
    try {
      await fn();
    } catch (error) {
      process.stderr.write(`bench: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

let interrupted = false;
/** On SIGINT/SIGTERM: clean up, then exit 130. */
export function installSignalCleanup(): void {
  const handler = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, stopping everything it started…\n`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
