import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { RtsyncError, messageOf } from "../../core/errors.ts";
import type { EngineEvent } from "../engine/events.ts";
import { startWatchEngine, type EngineOptions } from "../engine/engine.ts";
import { parseWatchSpec } from "../../state/watch-spec-parse.ts";
import type { WatchSpec } from "../../state/watch-spec.ts";
import { appendLogRecord, startStatusWriter, writeStatusFile } from "./status-file.ts";
import { buildInitialStatus, buildLogRecord, stepStatus } from "./status.ts";

// The watcher process: `rtsync __watch SPEC.json` calls runWatcher. It runs until SIGTERM or
// SIGINT, then stops the engine (finishing or cancelling the run in flight and flushing what is
// pending if the target answers within a few seconds) and returns.

export interface RunWatcherOptions {
  /**
   * The spec hash shown in status.json. Default: the first 16 hex digits of sha256 over the
   * compact JSON of the spec (JSON.stringify of the parsed file), which is what the reconciler's
   * `hashOf(spec)` computes for the same spec.
   */
  readonly specHash?: string;
  /** Stop when this aborts, in addition to SIGTERM/SIGINT. */
  readonly signal?: AbortSignal;
  /** Passed on to the engine (tests). */
  readonly engine?: Omit<EngineOptions, "onEvent">;
}

/** Reads and validates a watcher spec file. */
export async function loadWatchSpec(specPath: string): Promise<{ spec: WatchSpec; hash: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(specPath);
  } catch (error) {
    throw new RtsyncError("E_WATCH", "system", `cannot read watcher spec ${specPath}: ${messageOf(error)}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new RtsyncError("E_WATCH", "internal", `watcher spec ${specPath} is not valid JSON: ${messageOf(error)}`, { cause: error });
  }
  const parsed = parseWatchSpec(json);
  if (!parsed.ok) throw new RtsyncError("E_WATCH", "internal", `watcher spec ${specPath} is invalid: ${parsed.message}`);
  return { spec: parsed.spec, hash: createHash("sha256").update(JSON.stringify(json)).digest("hex").slice(0, 16) };
}

/** Runs one watcher until SIGTERM/SIGINT (or `options.signal`); writes status.json and log.jsonl. */
export async function runWatcher(specPath: string, options: RunWatcherOptions = {}): Promise<void> {
  const { spec, hash } = await loadWatchSpec(specPath);
  await mkdir(spec.stateDir, { recursive: true, mode: 0o755 });
  let status = buildInitialStatus({
    name: spec.name,
    pid: process.pid,
    specHash: options.specHash ?? hash,
    startedAt: Date.now(),
    initialSync: spec.initialSync,
  });
  await writeStatusFile(spec.stateDir, status);
  const writer = startStatusWriter(spec.stateDir);
  let logChain: Promise<void> = Promise.resolve();
  const onEvent = (event: EngineEvent): void => {
    status = stepStatus(status, event);
    writer.update(status);
    const record = buildLogRecord(event);
    if (record !== undefined) logChain = logChain.then(() => appendLogRecord(spec.stateDir, record)).catch(() => undefined);
  };

  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const s of signals) process.on(s, requestStop);
  options.signal?.addEventListener("abort", requestStop, { once: true });
  try {
    let engine;
    try {
      engine = await startWatchEngine(spec, { ...options.engine, onEvent });
    } catch (error) {
      status = { ...status, state: "stopped", lastError: { at: new Date().toISOString(), message: messageOf(error) } };
      await writeStatusFile(spec.stateDir, status);
      throw error;
    }
    await stopRequested;
    await engine.stop();
  } finally {
    for (const s of signals) process.off(s, requestStop);
    await logChain;
    await writer.flush();
  }
}
