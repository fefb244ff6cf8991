import { isHostRecord } from "../resources/watcher/host.ts";
import { fileStamp } from "../core/file-stamp.ts";
import { statSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { Host } from "../resources/host.ts";
import { isAlive, isOurProcess, type RecordedProcess } from "../resources/process/identity.ts";
import { readInventory, type Inventory } from "../state/inventory.ts";
import { hostFiles, stateLayout } from "../state/layout.ts";

/** How often a node whose every record is linked (the watch host) is polled: for an inventory that changed, not for a death. */
const COVERED_EVERY_MS = 10_000;

// Notices a dead daemon or watcher within a poll (1 s): reads the inventory (only when it
// changed) and checks each recorded pid of this node's resources. Cheap, and synchronous on
// purpose (an idle agent polls 60 times a minute; the thread pool round trips of async fs calls
// cost more than the calls): one stat, and a kill(0) plus one /proc read per process. A pid is
// checked against its command line once, when it first shows up (so a reused pid is not taken
// for ours); each death is reported once.

export interface Death {
  /** `daemon:NAME` or `watcher:NAME`. */
  readonly id: string;
  readonly pid: number;
  /** When it was started (ms), from the inventory. */
  readonly startedAt: number;
}

export interface PollScope {
  readonly stateDir: string;
  /** The manifest identity that owns the records to watch (ResolvedManifest.owner). */
  readonly owner: string;
  readonly daemons: ReadonlySet<string>;
  readonly watchers: ReadonlySet<string>;
}

export interface ProcessPoll {
  /** Poll these resources from now on. */
  update(scope: PollScope): void;
  stop(): void;
}

interface Known {
  readonly pid: number;
  readonly ours: boolean;
}

export function startProcessPoll(host: Host, options: { readonly intervalMs?: number; readonly paused: () => boolean; readonly onDied: (death: Death) => void }): ProcessPoll {
  let scope: PollScope | undefined;
  let inventory: Inventory | undefined;
  let inventoryStamp = "";
  const known = new Map<number, Known>();
  const reported = new Set<number>();
  let busy = false;
  let currentScope: PollScope | undefined;
  let current: ReturnType<typeof records> = [];

  // This owner's live records: not an intent still without its pid, not one `down` stopped.
  const watched = (r: { owner?: string | undefined; pid: number; stoppedAt?: string | undefined }, s: PollScope): boolean => (r.owner ?? "") === s.owner && r.pid > 0 && r.stoppedAt === undefined;
  const records = (inv: Inventory, s: PollScope): Array<{ id: string; pid: number; startedAt: string; record: RecordedProcess }> => [
    ...Object.entries(inv.daemons)
      .filter(([name, r]) => s.daemons.has(name) && watched(r, s))
      .map(([name, r]) => ({ id: `daemon:${name}`, pid: r.pid, startedAt: r.startedAt, record: r })),
    ...Object.entries(inv.watchers)
      .filter(([name, r]) => s.watchers.has(name) && watched(r, s))
      .map(([name, r]) => ({ id: `watcher:${name}`, pid: r.pid, startedAt: r.startedAt, record: r })),
  ];

  const poll = async (): Promise<void> => {
    const s = scope;
    if (s === undefined || options.paused()) return;
    const stamp = fileStamp(stateLayout.inventory(s.stateDir));
    if (stamp !== inventoryStamp || inventory === undefined || s !== currentScope) {
      inventory = await readInventory(s.stateDir).catch(() => undefined);
      inventoryStamp = stamp;
      currentScope = s;
      current = inventory === undefined ? [] : records(inventory, s);
      const pids = new Set(current.map((r) => r.pid));
      for (const pid of known.keys()) if (!pids.has(pid)) known.delete(pid);
      for (const pid of reported) if (!pids.has(pid)) reported.delete(pid);
    }
    if (options.paused()) return;
    // The watch host runs every job: one check of its pid per poll, not one per job.
    const alive = new Map<number, boolean>();
    for (const r of current) {
      if (reported.has(r.pid)) continue;
      let k = known.get(r.pid);
      if (k === undefined) {
        k = { pid: r.pid, ours: await isOurProcess(host, r.record) };
        known.set(r.pid, k);
      }
      let up = alive.get(r.pid);
      // A host whose link stands is alive (its death closes the link and polls at once).
      if (up === undefined) alive.set(r.pid, (up = linked(r.pid) || isAlive(r.pid)));
      if (k.ours && up) continue;
      // An apply or down of someone else is at work: what it stops is not a death.
      if (options.paused() || statSync(stateLayout.lockOwner(s.stateDir), { throwIfNoEntry: false }) !== undefined) return;
      reported.add(r.pid);
      known.delete(r.pid);
      options.onDied({ id: r.id, pid: r.pid, startedAt: Date.parse(r.startedAt) || 0 });
    }
  };

  // The watch host's death comes through a connection to its liveness socket, at once (the kernel
  // closes it, kill -9 included); while that link stands, the host's records need no poll, and a
  // node whose every record is the host's is polled every 10 s only (for what the link cannot see:
  // an inventory that changed). The link is (re)made by the poll whenever the host runs unlinked.
  let link: { readonly stateDir: string; readonly pid: number; readonly socket: Socket; up: boolean } | undefined;
  const linked = (pid: number): boolean => link !== undefined && link.up && link.pid === pid;
  const connectHost = (stateDir: string, pid: number): void => {
    if (link !== undefined && link.stateDir === stateDir && link.pid === pid) return;
    link?.socket.destroy();
    const socket = connect(hostFiles.alive(stateLayout.hostDir(stateDir)));
    const made = { stateDir, pid, socket, up: false };
    link = made;
    socket.on("connect", () => void (made.up = true));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const wasUp = made.up;
      made.up = false;
      if (link === made) link = undefined;
      if (wasUp && !stopped) tick(); // look at once: the host is most likely gone
    });
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const intervalMs = options.intervalMs ?? 1000;
  const tick = (): void => {
    clearTimeout(timer);
    if (stopped) return;
    if (busy) {
      timer = setTimeout(tick, intervalMs);
      return;
    }
    busy = true;
    // Async only when a record changed (the inventory is read, a new pid's command line checked).
    poll().then(
      () => void (busy = false),
      () => void (busy = false),
    ).finally(() => {
      if (stopped) return;
      // Link the host of the records, then wait long if the link covers every record.
      const hosted = current.filter((r) => isHostRecord(r.record));
      const s = currentScope;
      const first = hosted[0];
      if (s !== undefined && first !== undefined && !reported.has(first.pid) && isAlive(first.pid)) connectHost(s.stateDir, first.pid);
      const covered = current.length > 0 && current.every((r) => linked(r.pid));
      timer = setTimeout(tick, covered ? Math.max(intervalMs, COVERED_EVERY_MS) : intervalMs);
      timer.unref?.();
    });
  };
  timer = setTimeout(tick, intervalMs);

  return {
    update(next) {
      scope = next;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      link?.socket.destroy();
      link = undefined;
    },
  };
}
