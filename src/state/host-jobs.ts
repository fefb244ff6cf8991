import * as z from "zod/mini";
import { statSync } from "node:fs";
import { readDocument, untrustedDocument, writeDocument, type DocumentKind } from "./document.ts";
import { hostFiles, stateLayout } from "./layout.ts";

// The watch host's two documents (stateDir/host/). jobs.json is what the host should run: one
// entry per watch job of this stateDir, written by apply and down under the apply lock, read by
// the host at start and whenever it gets SIGUSR1 (or sees the file change). status.json is what
// the host runs, written by the host alone: its identity, a heartbeat, and each job's state, so
// apply can tell a job was taken in before it looks at the job's own status.json. The heartbeat
// of every job is the modification time of host/heartbeat (set every second).

export const HostJobSchema = z.object({
  /** The job's spec.json (what `rtsync __watch` took as its argument). */
  specFile: z.string().check(z.minLength(1)),
  /** hashWatchSpec of that spec: another hash means the job restarts inside the host. */
  specHash: z.string().check(z.minLength(1)),
  /** The manifest identity the job belongs to (ResolvedManifest.owner). */
  owner: z.string(),
  /** Set anew to restart the job in place with the same spec (a halted job that apply starts again). */
  restart: z.optional(z.string()),
  /** A process that ran this job alone (the per-process layout) and must be gone before the job's first run: handed over without two pushers. */
  after: z.optional(z.object({ pid: z.int(), startTime: z.optional(z.number()) })),
});
export type HostJob = z.infer<typeof HostJobSchema>;

export const HostJobsSchema = z.object({
  version: z.literal(1),
  jobs: z.record(z.string(), HostJobSchema),
});
export type HostJobs = z.infer<typeof HostJobsSchema>;

const JOBS: DocumentKind<HostJobs> = {
  what: "the watch host's job list",
  schema: HostJobsSchema,
  fix: "remove it and run `rtsync apply` (it writes the list again)",
};

export const HOST_JOB_STATES = ["starting", "held", "running", "restarting", "stopping"] as const;
export type HostJobState = (typeof HOST_JOB_STATES)[number];

export const HostStatusSchema = z.object({
  version: z.literal(1),
  pid: z.int(),
  /** /proc/self/stat field 22: with the pid, the host's identity. */
  startTime: z.optional(z.number()),
  startedAt: z.string(),
  /** When the document was written (it is written when a job changes; the heartbeat is the heartbeat file's). */
  heartbeatAt: z.string(),
  jobs: z.record(
    z.string(),
    z.object({
      specHash: z.string(),
      /** The running job's status.json startedAt (a restart in place keeps the pid and may keep the spec). */
      jobStartedAt: z.optional(z.string()),
      state: z.enum(HOST_JOB_STATES),
      since: z.string(),
      /** Restarts in place after a failure (an exception, an engine that would not start). */
      restarts: z.int(),
      /** Failures in a row (0 once the job ran a minute without one). */
      failures: z.optional(z.int()),
      /** state restarting: when it starts again. */
      retryAt: z.optional(z.string()),
      lastError: z.optional(z.object({ at: z.string(), message: z.string() })),
    }),
  ),
});
export type HostStatus = z.infer<typeof HostStatusSchema>;

const STATUS: DocumentKind<HostStatus> = {
  what: "a watch host status document",
  schema: HostStatusSchema,
  fix: "a running watch host writes it again within 2 s; if it does not, none runs: remove it and run rtsync apply",
};

export const emptyHostJobs = (): HostJobs => ({ version: 1, jobs: {} });

export async function readHostJobs(stateDir: string): Promise<HostJobs> {
  return (await readDocument(hostFiles.jobs(stateLayout.hostDir(stateDir)), JOBS)) ?? emptyHostJobs();
}

export function writeHostJobs(stateDir: string, jobs: HostJobs): Promise<void> {
  return writeDocument(hostFiles.jobs(stateLayout.hostDir(stateDir)), jobs);
}

/**
 * The host's last heartbeat (ISO): the modification time of stateDir/host/heartbeat, which the
 * host sets every second (one system call, not a document written). Undefined without the file.
 * Only a root-owned file counts (anyone else could set its time).
 */
export function readHostHeartbeat(stateDir: string): string | undefined {
  const st = statSync(hostFiles.heartbeat(stateLayout.hostDir(stateDir)), { throwIfNoEntry: false });
  if (st === undefined || !st.isFile() || untrustedDocument(st, process.getuid?.() ?? 0) !== undefined) return undefined;
  return st.mtime.toISOString();
}

export function readHostStatus(stateDir: string): Promise<HostStatus | undefined> {
  return readDocument(hostFiles.status(stateLayout.hostDir(stateDir)), STATUS);
}

export function writeHostStatus(hostDir: string, status: HostStatus): Promise<void> {
  return writeDocument(hostFiles.status(hostDir), status);
}

/** Jobs the host keeps failing to run (`minFailures` or more failures in a row, waiting for the next try). Pure. */
export function hostCrashLoops(status: HostStatus | undefined, minFailures = 3): Array<{ readonly name: string; readonly failures: number; readonly retryAt: string | null }> {
  if (status === undefined) return [];
  return Object.entries(status.jobs)
    .filter(([, j]) => j.state === "restarting" && (j.failures ?? 0) >= minFailures)
    .map(([name, j]) => ({ name, failures: j.failures ?? 0, retryAt: j.retryAt ?? null }));
}
