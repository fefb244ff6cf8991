import { isHostRecord } from "../resources/watcher/host.ts";
import { fileStamp } from "../core/file-stamp.ts";
import { DEFAULT_WRITE_RETRY } from "../core/retrying-writer.ts";
import { messageOf } from "../core/errors.ts";
import { readDaemonGreeting } from "../resources/daemon/greeting.ts";
import type { Host } from "../resources/host.ts";
import { unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isOurProcess, isSameProcess, readProcessInfo } from "../resources/process/identity.ts";
import { readInventory, type Inventory } from "../state/inventory.ts";
import { assessWatcherLiveness, DEFAULT_LIVENESS, type LivenessPolicy } from "../state/watcher-liveness.ts";
import { statSync } from "node:fs";
import { readHostHeartbeat, readHostStatus } from "../state/host-jobs.ts";
import { hostFiles, stateLayout } from "../state/layout.ts";
import { readWatcherStatus } from "../state/watcher-status.ts";

// Replaces a watcher that runs but does not respond. The process poll (process-poll.ts) only
// notices a pid that is gone; a SIGSTOPped or stuck watcher keeps its pid and replicates nothing.
// Every 10 s (the grace is 30 s, so a stuck watcher is replaced 30-40 s in; status and /healthz
// judge the heartbeat themselves when asked; each look is a wake-up of an agent at rest)
// this reads each watcher's heartbeat (state/watcher-liveness.ts); once it is older
// than the grace (30 s), the pid is checked to still be the watcher rtsync recorded and killed
// with SIGKILL (the only signal a stopped process cannot hold off). The poll then sees a death
// like any other, and the agent starts a new watcher, whose start is a full sync. A watcher that
// is not stopped (SIGSTOP, a tracer) but whose watch directory takes no write (a full disk, an
// immutable directory) is not replaced: its heartbeat cannot reach the disk, and a new watcher
// would not write one either (each start a full sync for nothing); the agent says so once, and
// once the directory takes writes again it waits for the watcher's write retry (its backoff
// reaches 30 s) before it judges the heartbeat again.
//
// Daemons the same way, by their greeting (resources/daemon/greeting.ts): probed every 10 s (each
// probe is a "connect from" line in rsyncd's log), and one that has not greeted for 30 s is
// killed by its verified pid (SIGKILL: SIGHUP would stop rsyncd, and a stopped one holds off
// SIGTERM) and started again by the agent, like a daemon that died.

export interface HangScope {
  readonly stateDir: string;
  /** The manifest identity that owns the records (ResolvedManifest.owner). */
  readonly owner: string;
  readonly watchers: ReadonlyArray<{ readonly name: string; readonly dir: string }>;
  readonly daemons: ReadonlyArray<{ readonly name: string; readonly address: string; readonly port: number }>;
}

/** Since when a daemon has not greeted (ms), after one more probe: undefined once it greets. Pure. */
export function stepSilence(since: number | undefined, greeted: boolean, now: number): number | undefined {
  return greeted ? undefined : (since ?? now);
}

/**
 * Passes each problem on once: `say(key, message)` calls `onSay` when the message differs from the
 * last one said for `key`; `say(key, undefined)` says the problem is gone (the next one is new).
 */
export function sayOnce(onSay: (message: string) => void): (key: string, message: string | undefined) => void {
  const said = new Map<string, string>();
  return (key, message) => {
    if (message === undefined) {
      said.delete(key);
      return;
    }
    if (said.get(key) !== message) onSay(message);
    said.set(key, message);
  };
}

export interface Replaced {
  /** `watcher:NAME` or `daemon:NAME`. */
  readonly id: string;
  readonly pid: number;
  /** Its last heartbeat (ISO). */
  readonly since: string;
  readonly silentMs: number;
}

export interface HangWatch {
  update(scope: HangScope): void;
  stop(): void;
}

export function startHangWatch(
  host: Host,
  options: {
    readonly intervalMs?: number;
    readonly daemonEveryMs?: number;
    readonly policy?: LivenessPolicy;
    readonly paused: () => boolean;
    readonly onReplaced: (r: Replaced) => void;
    readonly onUnwritable?: (id: string, message: string) => void;
    /** A state document that cannot be read (the message names the file): said once per problem. */
    readonly onUnreadable?: (message: string) => void;
  },
): HangWatch {
  let scope: HangScope | undefined;
  let busy = false;
  const killed = new Set<number>();
  // When each watcher's directory (by pid) was last found taking no write.
  const unwritableAt = new Map<number, number>();
  // Whether the watch directory takes a write now (the heartbeat's own way: a file written and removed).
  const writable = async (dir: string): Promise<string | undefined> => {
    const probe = join(dir, `.liveness-probe-${process.pid}`);
    try {
      // The host's heartbeat file: its times set to what they are (a probe must not beat for it).
      const st = statSync(dir, { throwIfNoEntry: false });
      if (st?.isFile() === true) {
        await utimes(dir, st.atime, st.mtime);
        return undefined;
      }
      await writeFile(probe, "");
      await unlink(probe);
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? String(e);
    }
  };

  // A document that cannot be read counts as "nothing to judge": this code kills processes, and it
  // must not kill on what it cannot read. But it says so, once per problem.
  const say = sayOnce((message) => options.onUnreadable?.(message));
  const readOrSay = async <T>(key: string, read: () => Promise<T>): Promise<T | undefined> => {
    try {
      const value = await read();
      say(key, undefined);
      return value;
    } catch (e) {
      say(key, messageOf(e));
      return undefined;
    }
  };

  // The inventory, read again only when its file changed (it is looked at every check).
  let inventory: Inventory | undefined;
  let inventoryStamp = "";
  const readInventoryIfChanged = async (stateDir: string): Promise<Inventory | undefined> => {
    const stamp = `${stateDir}:${fileStamp(stateLayout.inventory(stateDir))}`;
    if (stamp !== inventoryStamp || inventory === undefined) {
      inventory = await readOrSay("inventory", () => readInventory(stateDir));
      inventoryStamp = stamp;
    }
    return inventory;
  };

  // The host's pid (its status document, parsed again only when it changed) and its heartbeat.
  let hostDocStamp = "";
  let hostPid: number | undefined;
  const readHostBeat = async (stateDir: string): Promise<{ pid: number; heartbeatAt: string | null } | undefined> => {
    const stamp = `${stateDir}:${fileStamp(hostFiles.status(stateLayout.hostDir(stateDir)))}`;
    if (stamp !== hostDocStamp) {
      hostPid = (await readOrSay("host", () => readHostStatus(stateDir)))?.pid;
      hostDocStamp = stamp;
    }
    return hostPid === undefined ? undefined : { pid: hostPid, heartbeatAt: readHostHeartbeat(stateDir) ?? null };
  };

  const check = async (): Promise<void> => {
    const s = scope;
    if (s === undefined || options.paused()) return;
    const inventory = await readInventoryIfChanged(s.stateDir);
    if (inventory === undefined) return;
    // The watch host's one heartbeat stands for every job it runs: one stat per check.
    let hostReport: Promise<{ pid: number; heartbeatAt: string | null } | undefined> | undefined;
    for (const w of s.watchers) {
      const record = inventory.watchers[w.name];
      if (record === undefined || (record.owner ?? "") !== s.owner || record.pid <= 0 || record.stoppedAt !== undefined || killed.has(record.pid)) continue;
      const hosted = isHostRecord(record);
      const report = hosted ? await (hostReport ??= readHostBeat(s.stateDir)) : await readOrSay(`watcher:${w.name}`, () => readWatcherStatus(w.dir));
      // Where the heartbeat goes: the host's heartbeat file, a watcher's own directory.
      const dir = hosted ? hostFiles.heartbeat(stateLayout.hostDir(s.stateDir)) : w.dir;
      // The document of an earlier watcher (a new one has not written its first yet) says nothing of this one.
      if (report?.pid !== record.pid) continue;
      const liveness = assessWatcherLiveness(report, host.now().getTime(), options.policy ?? DEFAULT_LIVENESS);
      if (liveness.responding || !liveness.replace) continue;
      const blockedAt = unwritableAt.get(record.pid);
      if (blockedAt !== undefined && host.now().getTime() - blockedAt < (options.policy ?? DEFAULT_LIVENESS).replaceAfterMs + DEFAULT_WRITE_RETRY.maxMs) continue;
      const info = await readProcessInfo(host, record.pid);
      if (options.paused() || !isSameProcess(info, record)) continue;
      const stopped = info?.state === "T" || info?.state === "t";
      const cannotWrite = stopped ? undefined : await writable(dir);
      if (cannotWrite !== undefined) {
        if (!unwritableAt.has(record.pid)) options.onUnwritable?.(`watcher:${w.name}`, `${dir} takes no write (${cannotWrite}): the heartbeat of pid ${record.pid} cannot reach the disk, so it is not replaced`);
        unwritableAt.set(record.pid, host.now().getTime());
        continue;
      }
      try {
        process.kill(record.pid, "SIGKILL");
      } catch {
        continue; // gone meanwhile: the poll reports the death
      }
      killed.add(record.pid);
      options.onReplaced({ id: `watcher:${w.name}`, pid: record.pid, since: liveness.since, silentMs: liveness.silentMs });
    }
    await checkDaemons(s, inventory);
  };

  // Daemons: since when each (by pid) has not greeted.
  const silentSince = new Map<number, number>();
  let lastDaemonCheck = 0;
  const checkDaemons = async (s: HangScope, inventory: Inventory): Promise<void> => {
    const now = host.now().getTime();
    if (now - lastDaemonCheck < (options.daemonEveryMs ?? 10_000)) return;
    lastDaemonCheck = now;
    const grace = (options.policy ?? DEFAULT_LIVENESS).replaceAfterMs;
    for (const d of s.daemons) {
      const record = inventory.daemons[d.name];
      if (record === undefined || (record.owner ?? "") !== s.owner || record.pid <= 0 || record.stoppedAt !== undefined || killed.has(record.pid)) continue;
      if (!(await isOurProcess(host, record))) continue; // not running: the poll's business
      const greeting = await readDaemonGreeting(d.address, d.port);
      const at = host.now().getTime();
      const since = stepSilence(silentSince.get(record.pid), greeting.ok, at);
      if (since === undefined) silentSince.delete(record.pid);
      else silentSince.set(record.pid, since);
      if (since === undefined || at - since < grace || options.paused()) continue;
      try {
        process.kill(record.pid, "SIGKILL");
      } catch {
        continue;
      }
      killed.add(record.pid);
      silentSince.delete(record.pid);
      options.onReplaced({ id: `daemon:${d.name}`, pid: record.pid, since: new Date(since).toISOString(), silentMs: at - since });
    }
  };

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    check().then(
      () => void (busy = false),
      () => void (busy = false),
    );
  }, options.intervalMs ?? 10_000);
  timer.unref();

  return {
    update(next) {
      scope = next;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
