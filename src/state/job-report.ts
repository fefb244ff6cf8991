import { readHostHeartbeat, readHostStatus } from "./host-jobs.ts";
import { messageOf } from "../core/errors.ts";
import { readWatcherStatus, type WatcherStatusDoc, type WatcherStatusRead } from "./watcher-status.ts";

// A watch job's status document as its readers judge it: a job the watch host runs carries no
// heartbeat of its own (the host writes one for all its jobs, stateDir/host/status.json), so its
// heartbeat is the host's (host/heartbeat's modification time), when that host is the process the document names.

/** The job's status.json, with the host's heartbeat when the host runs it; undefined before its first write. */
export async function readJobReport(stateDir: string, watchDir: string): Promise<WatcherStatusDoc | undefined> {
  const report = await readWatcherStatus(watchDir);
  if (report?.hosted !== true) return report;
  const host = await readHostStatus(stateDir).catch(() => undefined);
  return host?.pid === report.pid ? { ...report, heartbeatAt: readHostHeartbeat(stateDir) ?? null } : report;
}

/** readJobReport as a result: a document that cannot be read is its error sentence (file, why, fix), not undefined. */
export async function readJobReportResult(stateDir: string, watchDir: string): Promise<WatcherStatusRead> {
  try {
    return { ok: true, doc: await readJobReport(stateDir, watchDir) };
  } catch (e) {
    return { ok: false, error: messageOf(e) };
  }
}
