import type { Host } from "../resources/host.ts";
import { isOurProcess } from "../resources/process/identity.ts";
import { readInventory } from "../state/inventory.ts";
import { assessWatcherLiveness, DEFAULT_LIVENESS, type LivenessPolicy } from "../state/watcher-liveness.ts";
import { readWatcherStatus } from "../state/watcher-status.ts";

// Replaces a watcher that runs but does not respond. The process poll (process-poll.ts) only
// notices a pid that is gone; a SIGSTOPped or stuck watcher keeps its pid and replicates nothing.
// Every second this reads each watcher's heartbeat (state/watcher-liveness.ts); once it is older
// than the grace (30 s), the pid is checked to still be the watcher rtsync recorded and killed
// with SIGKILL (the only signal a stopped process cannot hold off). The poll then sees a death
// like any other, and the agent starts a new watcher, whose start is a full sync.

export interface HangScope {
  readonly stateDir: string;
  /** The manifest identity that owns the records (ResolvedManifest.owner). */
  readonly owner: string;
  readonly watchers: ReadonlyArray<{ readonly name: string; readonly dir: string }>;
}

export interface Replaced {
  /** `watcher:NAME`. */
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
  options: { readonly intervalMs?: number; readonly policy?: LivenessPolicy; readonly paused: () => boolean; readonly onReplaced: (r: Replaced) => void },
): HangWatch {
  let scope: HangScope | undefined;
  let busy = false;
  const killed = new Set<number>();

  const check = async (): Promise<void> => {
    const s = scope;
    if (s === undefined || options.paused()) return;
    const inventory = await readInventory(s.stateDir).catch(() => undefined);
    if (inventory === undefined) return;
    for (const w of s.watchers) {
      const record = inventory.watchers[w.name];
      if (record === undefined || (record.owner ?? "") !== s.owner || record.pid <= 0 || record.stoppedAt !== undefined || killed.has(record.pid)) continue;
      const report = await readWatcherStatus(w.dir).catch(() => undefined);
      // The document of an earlier watcher (a new one has not written its first yet) says nothing of this one.
      if (report?.pid !== record.pid) continue;
      const liveness = assessWatcherLiveness(report, host.now().getTime(), options.policy ?? DEFAULT_LIVENESS);
      if (liveness.responding || !liveness.replace) continue;
      if (options.paused() || !(await isOurProcess(host, record))) continue;
      try {
        process.kill(record.pid, "SIGKILL");
      } catch {
        continue; // gone meanwhile: the poll reports the death
      }
      killed.add(record.pid);
      options.onReplaced({ id: `watcher:${w.name}`, pid: record.pid, since: liveness.since, silentMs: liveness.silentMs });
    }
  };

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    check().then(
      () => void (busy = false),
      () => void (busy = false),
    );
  }, options.intervalMs ?? 1000);
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
