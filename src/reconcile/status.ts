import { isHostRecord } from "../resources/watcher/host.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import { greetsFirst, readDaemonGreeting } from "../resources/daemon/greeting.ts";
import { addressesCollide, describeListener, readListeners } from "../resources/daemon/ports.ts";
import { resourceId } from "../resources/ids.ts";
import type { DaemonStatus, NodeStatus, WatcherStatus } from "../resources/node-status.ts";
import { readJob, type JobRecord, type JobView } from "../resources/process/job.ts";
import { readMarkedProcesses } from "../resources/process/markers.ts";
import { readInventoryForRepair } from "../state/inventory.ts";
import { assessWatcherHealth } from "../state/watcher-health.ts";
import { assessWatcherLiveness, notRespondingMessage } from "../state/watcher-liveness.ts";
import { readHostStatus, type HostStatus } from "../state/host-jobs.ts";
import { readJobReportResult } from "../state/job-report.ts";
import type { WatcherStatusDoc } from "../state/watcher-status.ts";

// What `rtsync status` reports: this node's daemons and watchers, from the inventory, the
// processes themselves (recorded or only marked), and each watcher's status document. Only observes.

/** Who runs a job, if anyone: the recorded pid, or an unrecorded process of this owner. */
function runningPid<R extends JobRecord>(view: JobView<R>, owner: string): { pid: number; recorded: boolean } | undefined {
  if (view.running && view.record) return { pid: view.record.pid, recorded: true };
  const unrecorded = view.unrecorded.find((p) => p.marker.owner === owner);
  return unrecorded ? { pid: unrecorded.info.pid, recorded: false } : undefined;
}

// Why a job is not healthy, as the operator should read it. Pure.
function processProblem<R extends JobRecord>(view: JobView<R>, owner: string, run: { recorded: boolean } | undefined): string | undefined {
  const r = view.record;
  if (r !== undefined && (r.owner ?? "") !== owner) return `the name belongs to another manifest in this stateDir (${r.manifest})`;
  if (run !== undefined) return run.recorded ? undefined : "running, but missing from the inventory (run `rtsync apply` to adopt it)";
  if (r?.stoppedAt !== undefined) return `stopped at ${r.stoppedAt} by \`rtsync down\` (\`rtsync apply\` starts it)`;
  if (r !== undefined && r.pid > 0) return `not running (pid ${r.pid} is gone; run \`rtsync apply\`)`;
  if (r !== undefined) return "was being started when its apply was interrupted (run `rtsync apply`)";
  return undefined;
}

/**
 * A watcher's problem. A watcher that is not running is reported from its last document as
 * stopped (down, or a signal) or dead, never as watching; a running one as its document says
 * (state/watcher-health.ts decides). Pure.
 */
export function watcherProblem(running: boolean, report: WatcherStatusDoc | undefined): string | undefined {
  if (!running) {
    if (report === undefined) return "never started (run `rtsync apply`)";
    if (report.state === "stopped") return `stopped at ${report.updatedAt} (by \`rtsync down\` or a signal; \`rtsync apply\` starts it)`;
    return `dead: pid ${report.pid} ended without stopping (last report ${report.updatedAt}, state ${report.state}); run \`rtsync apply\``;
  }
  return report === undefined ? undefined : assessWatcherHealth(report).problem;
}

/** Why the watch host does not run a job it was given, or undefined when it runs it. Pure. */
export function hostJobProblem(job: HostStatus["jobs"][string] | undefined): string | undefined {
  if (job === undefined) return "the watch host does not run it (run `rtsync apply`)";
  if (job.state === "restarting") {
    const again = job.retryAt === undefined ? "" : `; the watch host starts it again at ${job.retryAt}`;
    return `failed in the watch host: ${job.lastError?.message ?? "?"}${again}`;
  }
  if (job.state === "stopping") return "being stopped by the watch host";
  return undefined;
}

export async function gatherStatus(m: ResolvedManifest, host: Host): Promise<NodeStatus> {
  const [{ inventory, warning }, marked] = await Promise.all([readInventoryForRepair(m.stateDir), readMarkedProcesses(host, m.stateDir)]);
  const daemons = await Promise.all(
    m.daemons.map(async (d): Promise<DaemonStatus> => {
      const view = await readJob(host, resourceId.daemon(d.name), inventory.daemons[d.name], marked);
      const run = runningPid(view, m.owner);
      // A pid that runs is not enough: the daemon must greet (resources/daemon/greeting.ts).
      const greeting = run === undefined || !greetsFirst(d.options) ? undefined : await readDaemonGreeting(d.address, d.port);
      const silent = greeting?.ok === false ? greeting.message : undefined;
      // Not running: another program on its port is why (apply refuses to start it), whatever the record says.
      const clash = run === undefined ? (await readListeners(host, d.port)).find((l) => addressesCollide(d.address, l.address)) : undefined;
      const taken = clash === undefined ? undefined : `not running: ${d.address}:${d.port} is in use by ${await describeListener(host, clash)}, which rtsync did not start; stop it or choose another port`;
      const problem = silent ?? taken ?? processProblem(view, m.owner, run) ?? (run === undefined ? "never started (run `rtsync apply`)" : undefined);
      return {
        name: d.name,
        running: run !== undefined,
        ...(run ? { pid: run.pid } : {}),
        address: d.address,
        port: d.port,
        healthy: problem === undefined,
        ...(problem ? { problem } : {}),
        ...(silent === undefined ? {} : { responding: false as const }),
      };
    }),
  );
  // The watch host's view of its jobs: a job it keeps failing to run is not running, whatever its pid.
  const hostDoc = readHostStatus(m.stateDir).catch(() => undefined);
  const watchers = await Promise.all(
    m.watches.map(async (w): Promise<WatcherStatus> => {
      const view = await readJob(host, resourceId.watcher(w.name), inventory.watchers[w.name], marked);
      const hostedProblem = view.running && view.record !== undefined && isHostRecord(view.record) ? hostJobProblem((await hostDoc)?.jobs[w.name]) : undefined;
      const run = hostedProblem === undefined ? runningPid(view, m.owner) : undefined;
      const read = await readJobReportResult(m.stateDir, w.dir);
      const report = read.ok ? read.doc : undefined;
      // A document that cannot be read is the problem itself: its sentence names the file and the fix.
      const unreadable = read.ok ? undefined : `its status cannot be read: ${read.error}`;
      // A watcher that does not run is described from its last document (dead or stopped).
      // A pid that runs is not enough: its heartbeat must be recent (state/watcher-liveness.ts).
      const liveness = run === undefined ? undefined : assessWatcherLiveness(report, host.now().getTime());
      const hung = liveness?.responding === false ? notRespondingMessage(liveness) : undefined;
      const problem =
        hostedProblem ??
        unreadable ??
        (run === undefined && report !== undefined && view.record?.owner === m.owner ? watcherProblem(false, report) : (hung ?? processProblem(view, m.owner, run) ?? watcherProblem(run !== undefined, report)));
      return {
        name: w.name,
        running: run !== undefined,
        ...(hung === undefined ? {} : { responding: false }),
        ...(run ? { pid: run.pid } : {}),
        source: w.source,
        target: w.targets[0]?.url ?? "",
        targets: w.targets.map((t) => t.url),
        healthy: problem === undefined,
        ...(problem ? { problem } : {}),
        ...(report ? { report } : {}),
      };
    }),
  );
  return {
    manifest: m.file,
    node: m.node,
    daemons,
    watchers,
    healthy: daemons.every((d) => d.healthy) && watchers.every((w) => w.healthy),
    warnings: warning === undefined ? [] : [warning],
  };
}
