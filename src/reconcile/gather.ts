import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readAccounts } from "../resources/accounts.ts";
import { readFileState, readPath } from "../resources/files.ts";
import type { Host } from "../resources/host.ts";
import { isOurProcess } from "../resources/process.ts";
import { describePortHolder, portIsFree } from "../resources/ports.ts";
import { readInventory, type ProcessRecord } from "./inventory.ts";
import type { Actual, Desired, FileActual, PathActual, ProcessActual, SysctlActual } from "./types.ts";

// Reads the actual state of everything the desired state names, plus the inventory (for prune).
// Only observes.

async function readSysctl(host: Host, key: string): Promise<SysctlActual> {
  const path = join(host.procSysRoot, ...key.split("."));
  try {
    const value = Number.parseInt((await readFile(path, "utf8")).trim(), 10);
    return Number.isFinite(value) ? { readable: true, value } : { readable: false, message: `${path} does not hold a number` };
  } catch (e) {
    return { readable: false, message: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

async function processActual(host: Host, name: string, r: ProcessRecord): Promise<ProcessActual> {
  const running = await isOurProcess(host, r.pid, r.match);
  return { name, manifest: r.manifest, node: r.node, pid: r.pid, running, hash: r.hash, detail: r.detail };
}

async function mapEntries<T>(records: Record<string, ProcessRecord>, host: Host, f: typeof processActual): Promise<Map<string, T>> {
  const entries = await Promise.all(Object.entries(records).map(async ([name, r]) => [name, await f(host, name, r)] as const));
  return new Map(entries as unknown as [string, T][]);
}

export async function gatherActual(desired: Desired, host: Host): Promise<Actual> {
  const [sysctlEntries, accounts, pathEntries, fileEntries, inventory] = await Promise.all([
    Promise.all(desired.sysctls.map(async (s) => [s.key, await readSysctl(host, s.key)] as const)),
    readAccounts(host),
    Promise.all(desired.directories.map(async (d) => [d.path, await readPath(d.path)] as const)),
    Promise.all(desired.files.map(async (f) => [f.path, await readFileState(f.path)] as const)),
    readInventory(desired.stateDir),
  ]);
  const daemons = await mapEntries<ProcessActual>(inventory.daemons, host, processActual);
  const watchers = await mapEntries<ProcessActual>(inventory.watchers, host, processActual);
  const portConflicts = new Map<string, string>();
  for (const d of desired.daemons) {
    const have = daemons.get(d.name);
    // Our own daemon already holds this address:port; a restart onto another port must check that one.
    if (have?.running && have.detail["address"] === d.address && have.detail["port"] === d.port) continue;
    if (await portIsFree(d.address, d.port)) continue;
    const holder = await describePortHolder(host, d.port);
    if (have?.running && holder !== undefined && new RegExp(`^pid ${have.pid}\\b`).test(holder)) continue;
    portConflicts.set(`${d.address}:${d.port}`, holder ?? "another program");
  }
  return {
    sysctls: new Map(sysctlEntries),
    users: accounts.users,
    groups: accounts.groups,
    paths: new Map<string, PathActual>(pathEntries),
    files: new Map<string, FileActual>(fileEntries),
    daemons,
    watchers,
    portConflicts,
    isRoot: host.uid === 0,
  };
}
