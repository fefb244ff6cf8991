import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

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

/**
 * A benchmark's start: its options parsed (help or a usage error printed: the exit code instead),
 * the signal cleanup installed, and a 0755 temp root (rsyncd module paths need traversable
 * parents) removed at cleanup.
 */
export async function startBench<O>(parse: (argv: string[]) => O | string, usage: string, prefix: string): Promise<{ readonly o: O; readonly root: string } | number> {
  const parsed = parse(process.argv.slice(2));
  if (typeof parsed === "string") {
    const help = parsed === usage;
    (help ? process.stdout : process.stderr).write(`${parsed}\n`);
    return help ? 0 : 2;
  }
  installSignalCleanup();
  const root = await mkdtemp(join(tmpdir(), prefix));
  await chmod(root, 0o755);
  onCleanup(() => rm(root, { recursive: true, force: true }));
  return { o: parsed, root };
}

/** Runs a benchmark's main and exits with its code; a throw is printed, cleaned up after, exit 1. */
export function runBenchMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    async (e: unknown) => {
      process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      await runCleanups();
      process.exit(1);
    },
  );
}
