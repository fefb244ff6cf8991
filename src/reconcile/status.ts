import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import type { Host } from "../resources/host.ts";
import { isOurProcess } from "../resources/process.ts";
import { readInventory } from "./inventory.ts";

// What `rtsync status` reports: this node's daemons and watchers, from the inventory, the
// processes themselves, and each watcher's status.json. Only observes.

export interface DaemonStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  readonly address: string;
  readonly port: number;
  readonly healthy: boolean;
  readonly problem?: string;
}

export interface WatcherStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  readonly source: string;
  readonly target: string;
  readonly healthy: boolean;
  readonly problem?: string;
  /** The watcher's own status.json, as it wrote it (undefined before its first write). */
  readonly report?: Readonly<Record<string, unknown>>;
}

export interface NodeStatus {
  readonly manifest: string;
  readonly node: string;
  readonly daemons: readonly DaemonStatus[];
  readonly watchers: readonly WatcherStatus[];
  readonly healthy: boolean;
}

/** A watcher's status.json, or undefined while it is missing or being replaced. */
export async function readReport(dir: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, "status.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// A watcher is unhealthy when it is not running or its own report says so (its last run failed,
// or its event source is down), with the watcher's last error as the reason.
function watcherProblem(running: boolean, report: Record<string, unknown> | undefined): string | undefined {
  if (!running) return "not running (run `rtsync apply`)";
  if (!report || report["healthy"] !== false) return undefined;
  const lastError = report["lastError"] as { message?: unknown } | null | undefined;
  const state = typeof report["state"] === "string" ? report["state"] : "unknown";
  if (state === "starting") return undefined;
  return lastError?.message ? String(lastError.message) : `state ${state}`;
}

export async function gatherStatus(m: ResolvedManifest, host: Host): Promise<NodeStatus> {
  const inventory = await readInventory(m.stateDir);
  const daemons = await Promise.all(
    m.daemons.map(async (d): Promise<DaemonStatus> => {
      const r = inventory.daemons[d.name];
      const running = r !== undefined && r.manifest === m.file && (await isOurProcess(host, r.pid, r.match));
      return {
        name: d.name,
        running,
        ...(r ? { pid: r.pid } : {}),
        address: d.address,
        port: d.port,
        healthy: running,
        ...(running ? {} : { problem: r ? `not running (pid ${r.pid} is gone; run \`rtsync apply\`)` : "never started (run `rtsync apply`)" }),
      };
    }),
  );
  const watchers = await Promise.all(
    m.watches.map(async (w): Promise<WatcherStatus> => {
      const r = inventory.watchers[w.name];
      const running = r !== undefined && r.manifest === m.file && (await isOurProcess(host, r.pid, r.match));
      const report = await readReport(w.dir);
      const problem = r ? watcherProblem(running, report) : "never started (run `rtsync apply`)";
      return {
        name: w.name,
        running,
        ...(r ? { pid: r.pid } : {}),
        source: w.source,
        target: w.targetUrl,
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
  };
}
