import { hashOf } from "../../core/hash.ts";
import type { ResolvedDaemon } from "../../manifest/resolve.ts";
import type { DaemonRecord } from "../../state/inventory.ts";
import { accountGroupOf } from "../account/index.ts";
import { resourceId } from "../ids.ts";
import { isOurProcess, stopProcess } from "../process/identity.ts";
import { recordOrStop } from "../process/record.ts";
import type { ChangeBase, PlanContext, ResourceBase, ResourceKind } from "../types.ts";
import { addressesCollide, describeListener, readListeners, readUnprivilegedPortStart } from "./ports.ts";
import { startupLines } from "./rsyncd-conf.ts";
import { startDaemon } from "./start.ts";

// An rsync daemon rtsync starts and owns (recorded in the inventory). rsyncd re-reads
// rsyncd.conf on every connection, so only a change of what it reads at start-up (address, port,
// pid file, …) restarts it; SIGHUP would stop it (there is no reload), so a restart is
// SIGTERM + start.

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

export interface DaemonActual {
  /** What the inventory says rtsync started under this name. */
  readonly record?: DaemonRecord;
  readonly running: boolean;
  /** Someone else listens where this daemon would: who. */
  readonly portHolder?: string;
  /** The port is below the kernel's unprivileged start (1024) and rtsync is not root. */
  readonly privilegedPort: boolean;
}

export interface DaemonChange extends ChangeBase {
  readonly kind: "daemon";
  readonly name: string;
  /** What to start (absent when the daemon is only stopped). */
  readonly want?: DesiredDaemon;
  /** The process to stop first. */
  readonly previous?: { readonly pid: number; readonly running: boolean };
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

// A record of this stateDir under the same name, started by another manifest.
function foreignOwner(record: DaemonRecord | undefined, ctx: PlanContext): string | undefined {
  return record && record.manifest !== ctx.manifest ? `the name is already used in this stateDir by ${record.manifest}` : undefined;
}

export const daemonKind: ResourceKind<DesiredDaemon, DaemonActual, DaemonChange> = {
  build: (m, inputs) => m.daemons.map((d) => buildDaemon(d, inputs.tools.rsync)),

  read: async (d, { host, inventory }) => {
    const record = inventory.daemons[d.name];
    const running = record !== undefined && (await isOurProcess(host, record.pid, record.match));
    const privilegedPort = host.uid !== 0 && d.port < (await readUnprivilegedPortStart(host));
    // Our own daemon on this very address and port is not a conflict.
    if (running && record.detail.address === d.address && record.detail.port === d.port) return { record, running, privilegedPort };
    const clash = (await readListeners(host, d.port)).find((l) => addressesCollide(d.address, l.address));
    if (clash === undefined) return { ...(record ? { record } : {}), running, privilegedPort };
    const holder = await describeListener(host, clash);
    // Our daemon moving to another address on the same port holds the port itself.
    if (running && holder.startsWith(`pid ${record.pid} `)) return { record, running, privilegedPort };
    return { ...(record ? { record } : {}), running, privilegedPort, portHolder: holder };
  },

  plan: (d, have, ctx) => {
    const base = { id: d.id, kind: "daemon" as const, name: d.name, want: d, dependsOn: d.dependsOn };
    const other = foreignOwner(have.record, ctx);
    if (other) return { ...base, op: "create", title: `daemon ${d.name}: cannot be managed`, details: [], blocked: other };
    if (have.running && have.record?.hash === d.startupHash) return undefined;
    const blocked = have.portHolder
      ? { blocked: `${d.address}:${d.port} is in use by ${have.portHolder}, which rtsync did not start; stop it or choose another port` }
      : have.privilegedPort
        ? { blocked: `port ${d.port} is privileged: only root may listen on it; run apply as root, or choose a port of 1024 or above` }
        : {};
    if (have.running && have.record) {
      const before = have.record.detail.startupLines;
      const details = [...before.filter((l) => !d.startupLines.includes(l)).map((l) => `  - ${l}`), ...d.startupLines.filter((l) => !before.includes(l)).map((l) => `  + ${l}`)];
      return {
        ...base,
        op: "update",
        title: `daemon ${d.name}: restart on ${d.address}:${d.port} (start-up settings changed; pid ${have.record.pid})`,
        details,
        previous: { pid: have.record.pid, running: true },
        ...blocked,
      };
    }
    const why = have.record ? ` (pid ${have.record.pid} is not running)` : "";
    return { ...base, op: "create", title: `daemon ${d.name}: start rsync --daemon on ${d.address}:${d.port}${why}`, details: [], ...blocked };
  },

  prune: (desired, ctx) => {
    const want = new Set(desired.map((d) => d.name));
    return Object.entries(ctx.inventory.daemons)
      .filter(([name, r]) => r.manifest === ctx.manifest && r.node === ctx.node && !want.has(name))
      .map(([name, r]) => {
        const running = ctx.alive.get(resourceId.daemon(name)) === true;
        return {
          id: resourceId.daemon(name),
          kind: "daemon" as const,
          op: "delete" as const,
          name,
          title: `daemon ${name}: stop${running ? ` pid ${r.pid}` : " (not running)"} (no longer in the manifest for node ${ctx.node})`,
          details: [],
          dependsOn: [],
          previous: { pid: r.pid, running },
        };
      });
  },

  apply: async (c, ctx) => {
    if (c.previous?.running === true) await stopProcess(c.previous.pid, GRACE_MS);
    const d = c.want;
    if (c.op === "delete" || d === undefined) {
      await ctx.updateInventory((inv) => void delete inv.daemons[c.name]);
      return {};
    }
    const pid = await startDaemon({ argv: d.argv, address: d.address, port: d.port, pidFile: d.pidFile, logFile: d.logFile, dir: d.dir });
    await recordOrStop(ctx, pid, GRACE_MS, (inv) => {
      inv.daemons[d.name] = {
        manifest: ctx.manifest,
        node: ctx.node,
        pid,
        hash: d.startupHash,
        startedAt: ctx.host.now().toISOString(),
        match: ["--daemon", `--config=${d.config}`],
        detail: { startupLines: [...d.startupLines], address: d.address, port: d.port, config: d.config, pidFile: d.pidFile },
      };
    });
    return { pid };
  },

  describe: (c) => ({
    name: c.name,
    ...(c.want ? { address: c.want.address, port: c.want.port, config: c.want.config } : {}),
    ...(c.previous ? { pid: c.previous.pid, running: c.previous.running } : {}),
  }),
};
