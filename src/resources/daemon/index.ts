import { hashOf } from "../../core/hash.ts";
import type { ResolvedDaemon } from "../../manifest/resolve.ts";
import type { DaemonRecord } from "../../state/inventory.ts";
import { accountGroupOf } from "../account/index.ts";
import { resourceId } from "../ids.ts";
import { decideJob, planJobBookkeeping, planJobRemovals, readJob, stopDetails, type JobChangeFields, type JobView } from "../process/job.ts";
import { startRecorded, stopTargets } from "../process/lifecycle.ts";
import { buildChildEnv } from "../process/markers.ts";
import type { ApplyContext, ChangeBase, ResourceBase, ResourceKind } from "../types.ts";
import { addressesCollide, describeListener, readHeldByAny, readListeners, readUnprivilegedPortStart } from "./ports.ts";
import { startupLines } from "./rsyncd-conf.ts";
import { readPidFileProblem, startDaemon } from "./start.ts";

// An rsync daemon rtsync starts and owns (recorded in the inventory, marked in its environment).
// rsyncd re-reads rsyncd.conf on every connection, so only a change of what it reads at start-up
// (address, port, pid file, …) restarts it; SIGHUP would stop it (there is no reload), so a
// restart is SIGTERM + start.

export interface DesiredDaemon extends ResourceBase {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly config: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** rtsync's directory for this daemon. */
  readonly dir: string;
  readonly argv: readonly string[];
  /** Hash of everything rsyncd reads only at start-up: a different one means restart. */
  readonly startupHash: string;
  readonly startupLines: readonly string[];
}

export interface DaemonActual extends JobView<DaemonRecord> {
  /** Someone else listens where this daemon would: who. */
  readonly portHolder?: string;
  /** The port is below the kernel's unprivileged start (1024) and rtsync is not root. */
  readonly privilegedPort: boolean;
  /** pidFile names something that is not a pid file (rtsync would never delete it, rsyncd would overwrite it). */
  readonly pidFileProblem?: string;
}

export interface DaemonChange extends ChangeBase, JobChangeFields {
  readonly kind: "daemon";
  readonly name: string;
  /** What to start (absent when the daemon is only stopped). */
  readonly want?: DesiredDaemon;
}

const GRACE_MS = 8000;

function buildDaemon(d: ResolvedDaemon, rsync: string): DesiredDaemon {
  const argv = [rsync, "--daemon", "--no-detach", `--config=${d.config}`, `--address=${d.address}`, `--port=${d.port}`];
  const lines = startupLines(d);
  const group = d.createAccount ? accountGroupOf(d) : undefined;
  return {
    id: resourceId.daemon(d.name),
    name: d.name,
    address: d.address,
    port: d.port,
    config: d.config,
    pidFile: d.pidFile,
    logFile: d.logFile,
    dir: d.dir,
    argv,
    startupLines: lines,
    startupHash: hashOf({ argv, lines }),
    dependsOn: [
      ...(d.secretsFile ? [resourceId.file(d.secretsFile)] : []),
      resourceId.file(d.config),
      ...[...new Set(d.modules.map((m) => m.path))].map(resourceId.directory),
      ...(group ? [resourceId.group(group)] : []),
      ...(d.createAccount && typeof d.uid === "string" ? [resourceId.account(d.uid)] : []),
    ],
  };
}


function record(d: DesiredDaemon, ctx: ApplyContext): Omit<DaemonRecord, "pid" | "uid" | "startTime"> {
  return {
    manifest: ctx.manifest,
    owner: ctx.owner,
    node: ctx.node,
    hash: d.startupHash,
    startedAt: ctx.host.now().toISOString(),
    match: ["--daemon", `--config=${d.config}`],
    detail: { startupLines: [...d.startupLines], address: d.address, port: d.port, config: d.config, pidFile: d.pidFile },
  };
}

export const daemonKind: ResourceKind<DesiredDaemon, DaemonActual, DaemonChange> = {
  build: (m, inputs) => m.daemons.map((d) => buildDaemon(d, inputs.tools.rsync)),

  read: async (d, { host, inventory, marked }) => {
    const view0 = await readJob(host, d.id, inventory.daemons[d.name], marked);
    const pidFileProblem = await readPidFileProblem(d.pidFile);
    const view = pidFileProblem === undefined ? view0 : { ...view0, pidFileProblem };
    const privilegedPort = host.uid !== 0 && d.port < (await readUnprivilegedPortStart(host));
    const ours = [view.running ? view.record?.pid : undefined, ...view.unrecorded.map((p) => p.info.pid)].filter((p) => p !== undefined);
    const clash = (await readListeners(host, d.port)).find((l) => addressesCollide(d.address, l.address));
    if (clash === undefined) return { ...view, privilegedPort };
    // A daemon of this job (ours, recorded or not) holding the port is not a conflict. Its own fds
    // are looked at first: the search through every process's fds is for a real conflict only.
    if (await readHeldByAny(host, clash, ours)) return { ...view, privilegedPort };
    const holder = await describeListener(host, clash);
    if (ours.some((pid) => holder.startsWith(`pid ${pid} `) || holder === `pid ${pid}`)) return { ...view, privilegedPort };
    return { ...view, privilegedPort, portHolder: holder };
  },

  plan: (d, have, ctx) => {
    const base = { id: d.id, kind: "daemon" as const, name: d.name, want: d, dependsOn: d.dependsOn };
    const decision = decideJob(have, d.startupHash, ctx.owner);
    const portBlock = have.pidFileProblem
      ? { blocked: have.pidFileProblem }
      : have.portHolder
      ? { blocked: `${d.address}:${d.port} is in use by ${have.portHolder}, which rtsync did not start; stop it or choose another port` }
      : have.privilegedPort
        ? { blocked: `port ${d.port} is privileged: only root may listen on it; run apply as root, or choose a port of 1024 or above` }
        : {};
    switch (decision.type) {
      case "keep":
        return undefined;
      case "blocked":
      case "adopt":
      case "stop-extra":
        return { ...base, ...planJobBookkeeping(`daemon ${d.name}`, "process(es) of this daemon", decision) };
      case "start": {
        if (decision.restart && have.record) {
          const before = have.record.detail.startupLines;
          const details = [...before.filter((l) => !d.startupLines.includes(l)).map((l) => `  - ${l}`), ...d.startupLines.filter((l) => !before.includes(l)).map((l) => `  + ${l}`)];
          return {
            ...base,
            op: "update",
            title: `daemon ${d.name}: restart on ${d.address}:${d.port} (start-up settings changed; pid ${have.record.pid})`,
            details,
            action: "start",
            stop: decision.stop,
            ...portBlock,
          };
        }
        const why = have.record?.stoppedAt !== undefined ? ` (stopped by \`rtsync down\` at ${have.record.stoppedAt})` : have.record && have.record.pid > 0 ? ` (pid ${have.record.pid} is not running)` : "";
        return { ...base, op: "create", title: `daemon ${d.name}: start rsync --daemon on ${d.address}:${d.port}${why}`, details: stopDetails(decision.stop), action: "start", stop: decision.stop, ...portBlock };
      }
    }
  },

  prune: (desired, ctx) => planJobRemovals("daemon", ctx.inventory.daemons, new Set(desired.map((d) => d.name)), ctx),

  apply: async (c, ctx) => {
    const d = c.want;
    if (c.action === "stop" || d === undefined) {
      await stopTargets(ctx, c.stop, GRACE_MS);
      if (c.op === "delete") await ctx.updateInventory((inv) => void delete inv.daemons[c.name]);
      return {};
    }
    const base = record(d, ctx);
    if (c.action === "adopt" && c.adopt !== undefined) {
      await stopTargets(ctx, c.stop, GRACE_MS);
      const { pid, uid, startTime } = c.adopt;
      await ctx.updateInventory((inv) => void (inv.daemons[d.name] = { ...base, pid, uid, startTime }));
      return { pid };
    }
    const env = buildChildEnv({ stateDir: ctx.stateDir, owner: ctx.owner, job: d.id, hash: d.startupHash }, ctx.env);
    const pid = await startRecorded(
      ctx,
      { put: (inv, identity) => void (inv.daemons[d.name] = { ...base, ...identity }), remove: (inv) => void delete inv.daemons[d.name], graceMs: GRACE_MS },
      c.stop,
      () => startDaemon({ argv: d.argv, address: d.address, port: d.port, pidFile: d.pidFile, logFile: d.logFile, dir: d.dir, env }),
    );
    return { pid };
  },

  describe: (c) => ({
    name: c.name,
    ...(c.want ? { address: c.want.address, port: c.want.port, config: c.want.config } : {}),
    ...(c.adopt ? { adopt: c.adopt.pid } : {}),
    ...(c.stop.length > 0 ? { stop: c.stop.map((t) => t.pid) } : {}),
  }),
};
