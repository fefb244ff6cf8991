// The watch engine's public surface, for the CLI (`rtsync __watch`) and the reconciler (status).

/** Runs one watcher process until SIGTERM/SIGINT: `rtsync __watch SPEC.json` calls this. */
export { runWatcher, loadWatchSpec, type RunWatcherOptions } from "./main.ts";
/** The engine as a library: watch a tree and replicate it, reporting typed events. */
export { startWatchEngine, type EngineOptions, type WatchEngine } from "./engine.ts";
export type { EngineEvent, RunKind, RunSummary } from "./engine-events.ts";
/** What the watcher writes under its stateDir, and the shape of status.json. */
export { LOG_FILE, STATUS_FILE } from "./status-file.ts";
export type { RunRecord, WatcherStatus } from "./status.ts";
export { parseWatchSpec, type SpecResult } from "./spec-schema.ts";
export type { WatchSpec, WatcherKind } from "./spec.ts";
export { WatchSourceError, type WatchSourceErrorReason } from "./source.ts";
