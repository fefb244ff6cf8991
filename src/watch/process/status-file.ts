import { appendFile, rename, stat } from "node:fs/promises";
import path from "node:path";
import writeFileAtomic from "write-file-atomic";
import type { WatcherStatus } from "./status.ts";

// The watcher's files under stateDir: status.json (rewritten atomically, at most every
// `intervalMs`, and at once on flush) and log.jsonl (one JSON line per batch, rotated at 5 MB;
// a batch with renamed directories lists their rename steps, each its own rsync, in `renames`).

export const STATUS_FILE = "status.json";
export const LOG_FILE = "log.jsonl";
const LOG_MAX_BYTES = 5 * 1024 * 1024;

export async function writeStatusFile(stateDir: string, status: WatcherStatus): Promise<void> {
  await writeFileAtomic(path.join(stateDir, STATUS_FILE), `${JSON.stringify(status, null, 2)}\n`, { mode: 0o644, fsync: false });
}

export interface StatusWriter {
  /** Remembers the latest status; it reaches the disk within `intervalMs`. */
  update(status: WatcherStatus): void;
  /** Writes the latest status now and waits for it. */
  flush(): Promise<void>;
}

/** A writer that coalesces frequent updates (one per event chunk) into a few atomic writes. */
export function startStatusWriter(stateDir: string, intervalMs = 250, onError: (error: unknown) => void = () => undefined): StatusWriter {
  let latest: WatcherStatus | undefined;
  let written: WatcherStatus | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const write = (): Promise<void> => {
    timer = undefined;
    const status = latest;
    if (status === undefined || status === written) return chain;
    written = status;
    chain = chain.then(() => writeStatusFile(stateDir, status)).catch(onError);
    return chain;
  };
  return {
    update: (status) => {
      latest = status;
      timer ??= setTimeout(() => void write(), intervalMs);
    },
    flush: () => {
      clearTimeout(timer);
      return write();
    },
  };
}

/** Appends one record to log.jsonl, moving a log past 5 MB to log.jsonl.1 first. */
export async function appendLogRecord(stateDir: string, record: Record<string, unknown>): Promise<void> {
  const file = path.join(stateDir, LOG_FILE);
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size > LOG_MAX_BYTES) await rename(file, `${file}.1`);
  await appendFile(file, `${JSON.stringify(record)}\n`, { mode: 0o644 });
}
