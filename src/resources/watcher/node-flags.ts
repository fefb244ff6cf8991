import type { WatcherKind } from "../../state/watch-spec.ts";

// The V8 flags of the watch host (host.ts starts it: `rtsync __host STATEDIR`, detached so it
// outlives apply, its output appended to stateDir/host/host.log).

/**
 * V8 flags of the watcher, a process that runs for months on every server and is mostly idle.
 * --lite-mode (no optimizing compiler, lazy feedback) measured 5 MB less resident memory at rest
 * (56 -> 51 MB on a 10,000-file tree) and 98 -> 64 MB at the peak of a 50,000-file storm, for
 * ~50% more watcher CPU in that storm (the interpreter parses the events; rsync does the work).
 * A 1 MB young generation keeps the garbage of a storm from settling as resident memory.
 * (--no-expose-wasm: lite mode turns WebAssembly off anyway, and says so on stderr without it.)
 */
export const WATCHER_NODE_FLAGS: readonly string[] = ["--lite-mode", "--no-expose-wasm", "--max-semi-space-size=1"];

/**
 * Not for chokidar: it scans and tracks every file in JavaScript, and in the interpreter its
 * start on a 100,000-file tree took 64 s instead of 18 s (bench, 2026-11-24).
 */
export function watcherNodeFlags(watcher: WatcherKind): readonly string[] {
  return watcher === "chokidar" || watcher === "poll" ? [] : WATCHER_NODE_FLAGS;
}
