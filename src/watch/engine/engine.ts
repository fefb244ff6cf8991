import { messageOf } from "../../core/errors.ts";
import { parseSchedule, type Schedule } from "../../core/cron.ts";
import type { Backoff } from "../../core/backoff.ts";
import { RtsyncError } from "../../core/errors.ts";
import { buildLaneSpecs, type LaneSpec, type WatchSpec } from "../../state/watch-spec.ts";
import { DEFAULT_BATCHER_CONFIG } from "../batching/batcher.ts";
import { buildChanges } from "../batching/changes.ts";
import { buildExcludeMatcher, type ExcludeMatcher } from "../batching/exclude-match.ts";
import type { BatcherConfig } from "../batching/types.ts";
import { acceptsConnections, daemonAddressOf } from "../rsync/reachable.ts";
import { stopSshMaster } from "../rsync/ssh-master.ts";
import { baselineOf } from "../guard/decide.ts";
import type { HaltReason } from "../../state/watcher-status.ts";
import { readSourceRoot } from "../guard/source-root.ts";
import { openIdentityGate } from "../guard/identity-gate.ts";
import { loadEventSource } from "../sources/select.ts";
import { WatchSourceError, fullSyncRequest, type EventSource, type SourceEvent, type Subscription } from "../sources/source.ts";
import type { EngineEvent } from "./events.ts";
import { INITIAL_SYNC, startLane, type Lane, type LaneRunner } from "./lane.ts";
import { runLaneBatch, type HaltReport, type RunnerInputs, type SourceRootState } from "./runner.ts";
import { isBulkRun, type PreviousRun } from "../rsync/bulk.ts";
import { makeUnwatchedReporter } from "./unwatched-report.ts";
import { DEFAULT_SOURCE_RESTART, FRESH_SOURCE, planSourceRestart, type RestartState } from "./restart-policy.ts";
import { DEFAULT_REPAIR } from "./repair-policy.ts";
import { startSettleTimer } from "./settle-timer.ts";
import { startResumePoll, type ResumePoll } from "./resume-poll.ts";

// The wiring of one watch job: one event source and one change stream, and one lane per target
// (lane.ts: its own batcher, coalescer, runs, retries, repair and full-sync schedules, halt), so a
// target that is down or slow never delays another. What to send and when is decided by the pure
// parts (batching/batcher.ts, engine/coalescer.ts, engine/restart-policy.ts,
// engine/repair-policy.ts); lane.ts owns a lane's timers and runs, runner.ts carries out one run
// (identity gate, deletion guard, rsync), and this file only wires them and the event source:
//
//   event source --events--> buildChanges (excludes, once) --+--> lane 1 --> rsync to target 1
//        ^  fails: restart with backoff,                      +--> lane 2 --> rsync to target 2
//        |  then a full sync of every lane                    +--> ...
//
// - start: watches first; once they are established, the initial full sync of every lane. Events
//   that arrive during it are held by each lane's batcher and go out after it, so nothing changed
//   at start-up is lost, on any target.
// - the source fails (exits, errors, the root vanishes): restart it with backoff, and once its
//   watches are back run a full sync on every lane, since events may have been dropped meanwhile.
// - stop: stop watching, let each lane's run in flight finish (or cancel it after
//   `stopTimeoutMs`), flush what each lane has pending once if its target answers in time, and
//   return. Lanes stop side by side: a target that does not answer costs its own timeout only.
// - a file written but not closed (MODIFY without CLOSE_WRITE: a log, a database) is held for the
//   watch's settle time and then handed to every lane as if closed, again each settle time while
//   writes continue (settle-timer.ts); each lane counts it as pending meanwhile.
// - every full sync first passes the deletion guard (guard/decide.ts, via runner.ts). A source root that is
//   missing, unmounted or on another device halts every lane (the source is the watch's); a
//   source emptied while a target holds files, or a full sync that hit maxDelete, halts that
//   target's lane. Halted, a lane runs no rsync at all until the watcher is started again.
// - every run of every lane (incremental, full, early, retry) first passes the identity gate
//   (guard/identity.ts): the source root must be the one recorded when the job first started
//   (lstat, inode, mount). Any change, or a full sync while the source reports its root gone,
//   halts every lane; the job looks again every second and, once the recorded root is back (or
//   `--accept-source` removed the record), restarts the source and resumes every lane so halted
//   with a full sync.

/** How long a file written but not closed waits before it is sent, unless the spec says (manifest `settle:`). */
export const DEFAULT_SETTLE_MS = 2000;

export interface EngineOptions {
  /** Receives every engine event; the library itself never prints. */
  readonly onEvent?: (event: EngineEvent) => void;
  /** Tuning of the batcher (the spec's delayMs wins over `delayMs` here unless given). */
  readonly batcher?: Partial<BatcherConfig>;
  /** Use this source instead of the one `spec.watcher` selects. */
  readonly eventSource?: EventSource;
  /** How long stop() waits for the run in flight, and then for the final flush (default 5 s). */
  readonly stopTimeoutMs?: number;
  /** Backoff between restarts of a failed source (default 1 s doubling up to 30 s). */
  readonly sourceRestart?: Backoff;
  /** Backoff between full syncs that repair given-up paths (default 30 s doubling up to 10 min). */
  readonly repair?: Backoff;
  /** A run in flight longer than this lets a run beside it carry other paths (default 500 ms; Infinity: never). */
  readonly overlapAfterMs?: number;
  /** How often a job halted by the identity gate looks at its source again (default 1 s). */
  readonly resumeEveryMs?: number;
  /** No run of any lane before this settles (the watch host's handover from a watcher process that ran the job alone). */
  readonly hold?: Promise<void>;
  /** A full sync once the watches are set, for this reason, even when the spec skips the initial sync (a job restarted after a failure). */
  readonly fullSyncAtStart?: string;
}

// The halt the identity gate resumes once the recorded source root is back.
const RESUMABLE: HaltReason = "source-changed";

export interface WatchEngine {
  readonly watcher: EventSource["kind"];
  /** The inotify watches its source holds now, where the source keeps count (undefined elsewhere). */
  watches(): number | undefined;
  /** Settles when watches are established for the first time. */
  readonly ready: Promise<{ readonly watches: number }>;
  /** Changes not on every target yet: the most any lane has waiting, in flight, for a retry or for a repair. */
  pending(): number;
  /** Every lane halted (deletion guard, maxDelete): the job runs no rsync any more. */
  halted(): boolean;
  /** Nothing pending and no run in flight, on any lane. */
  idle(): boolean;
  /** Each lane by its key: what it has pending, whether it halted or is idle. */
  lanes(): ReadonlyArray<{ readonly key: string; readonly pending: number; readonly halted: boolean; readonly idle: boolean }>;
  /** A full sync now on the lanes of `targets` (every lane when absent), for `reason` (SIGUSR2: process/main.ts). */
  requestFull(reason: string, targets?: readonly string[]): void;
  /** Stops watching and flushes; see the header of this file. */
  stop(): Promise<void>;
}

// A lane's full-sync schedule (the target's own, or the watch's).
function scheduleOf(spec: LaneSpec): Schedule | undefined {
  if (spec.fullSyncSchedule === undefined) return undefined;
  const parsed = parseSchedule(spec.fullSyncSchedule);
  if (!parsed.ok) throw new RtsyncError("E_WATCH", "user", `watch ${spec.name}: fullSync.schedule "${spec.fullSyncSchedule}" of target ${spec.key} ${parsed.message}`);
  return parsed.schedule;
}

/** Starts watching `spec.source` and replicating to each of `spec.targets`; resolves once the source is subscribed. */
export async function startWatchEngine(spec: WatchSpec, options: EngineOptions = {}): Promise<WatchEngine> {
  const config: BatcherConfig = { ...DEFAULT_BATCHER_CONFIG, delayMs: spec.delayMs, ...options.batcher };
  const emit = options.onEvent ?? (() => undefined);
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  const restartPolicy = options.sourceRestart ?? DEFAULT_SOURCE_RESTART;
  const repairPolicy = options.repair ?? DEFAULT_REPAIR;
  const excluded: ExcludeMatcher = buildExcludeMatcher(spec.exclude);
  const laneSpecs = buildLaneSpecs(spec);
  const schedules = laneSpecs.map(scheduleOf);
  const source =
    options.eventSource ??
    (await loadEventSource({
      watcher: spec.watcher,
      source: spec.source,
      excluded,
      ...(spec.inotifywait === undefined ? {} : { inotifywait: spec.inotifywait }),
      ...(spec.setpriv === undefined ? {} : { setpriv: spec.setpriv }),
    }));

  let restart: RestartState = FRESH_SOURCE;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  // The source root as the watcher started with it (what every lane's deletion guard compares
  // against), and whether the source reported it gone: shared by the lanes' runs (runner.ts).
  const root: SourceRootState = { baseline: baselineOf(await readSourceRoot(spec.source, excluded)), gone: false };
  // The source root as the job first found it (recorded in the watch's state dir on the first start).
  const identity = await openIdentityGate(spec.name, spec.source, spec.stateDir);
  const atStart = await identity.check();
  let resumePoll: ResumePoll | undefined;
  let resumeOnReady = false;
  let sub: Subscription | undefined;
  let resolveReady!: (v: { watches: number }) => void;
  const ready = new Promise<{ watches: number }>((res) => {
    resolveReady = res;
  });

  const lanes: Lane[] = [];
  // Files written and kept open: sent every settle time while they change (batching/settle.ts).
  const settle = startSettleTimer({
    settleMs: spec.settleMs ?? DEFAULT_SETTLE_MS,
    excluded,
    onSettled: (changes, now) => {
      for (const lane of lanes) lane.add(changes, now);
    },
    onCount: () => {
      for (const lane of lanes) lane.notePending();
    },
  });
  // The source root is not the job's: every lane halts, and the job looks again every second.
  const haltWatch = (reason: HaltReason, message: string): void => {
    for (const other of lanes) other.halt(reason, message);
    resumePoll ??= startResumePoll({
      everyMs: options.resumeEveryMs ?? 1000,
      check: async () => (await identity.recheck()).ok,
      onBack: () => {
        resumePoll = undefined;
        resumeOnReady = true;
        restartSource(); // it may watch what stood in the root's place (a symlink's target)
      },
    });
  };
  // A lane's runs (runner.ts); a halt it reports is carried out here, on the lanes it concerns.
  const runnerOf = (lane: LaneSpec): LaneRunner => {
    const inputs: RunnerInputs = { watch: spec.name, source: spec.source, lane, excluded, identity, root };
    // Its last run, for the choice of bulk runs (a lane working through a storm's backlog yields the CPU).
    let previous: PreviousRun | undefined;
    return async (batch, signal, hooks) => {
      // Handed over from a process that ran the job alone: no run before it is gone.
      if (options.hold !== undefined) await options.hold;
      const startedAt = Date.now();
      const report = await runLaneBatch(inputs, batch, signal, hooks, isBulkRun(batch, previous, startedAt));
      // Only incremental runs tell of a backlog: a long full sync (the initial one) does not make
      // the change written right after it yield.
      previous = batch.kind === "incremental" ? { durationMs: Date.now() - startedAt, endedAt: Date.now() } : undefined;
      if ("halted" in report) haltFor(lane.key, report.halted);
      return report;
    };
  };
  // What a halt a run reported means for the lanes: the job's (every lane, and the resume poll),
  // the watch's (every other lane; the reporting lane halts itself), or the target's alone.
  const haltFor = (key: string, halt: HaltReport): void => {
    switch (halt.scope) {
      case "job":
        haltWatch(halt.reason, halt.message);
        return;
      case "watch":
        for (const other of lanes) if (other.key !== key) other.halt(halt.reason, halt.message);
        return;
      case "target":
        return;
    }
  };
  // A daemon target that refused connections is probed while its lane backs off (lane.ts).
  // An ssh target: its sshd's port (a run then makes or reuses the lane's master connection).
  const probeOf = (lane: LaneSpec): { probe: () => Promise<boolean> } | Record<string, never> => {
    const address = lane.ssh !== undefined ? { host: lane.ssh.host.replace(/^\[|\]$/g, ""), port: lane.ssh.port } : lane.daemonTarget ? daemonAddressOf(lane.key) : undefined;
    return address === undefined ? {} : { probe: () => acceptsConnections(address.host, address.port) };
  };
  for (const [i, lane] of laneSpecs.entries()) {
    const schedule = schedules[i];
    lanes.push(
      startLane({
        key: lane.key,
        config,
        repair: repairPolicy,
        ...(lane.maxDelete === undefined ? {} : { maxDelete: lane.maxDelete }),
        ...(schedule === undefined ? {} : { schedule }),
        ...(options.overlapAfterMs === undefined ? {} : { overlapAfterMs: options.overlapAfterMs }),
        ...(lane.adaptiveFullSync === true ? { adaptive: true } : {}),
        run: runnerOf(lane),
        ...probeOf(lane),
        held: settle.count,
        emit,
      }),
    );
  }

  const requestFull = (reason: string): void => {
    for (const lane of lanes) lane.requestFull(reason);
  };

  // The directories the source could not watch, as the status shows them (issue 18).
  const unwatched = makeUnwatchedReporter(excluded, emit);

  const failSource = (error: unknown): void => {
    unwatched.clear(); // the next subscription reports its own
    const old = sub;
    sub = undefined;
    void old?.close();
    if (stopping) return;
    const next = planSourceRestart(restart, restartPolicy);
    restart = next.state;
    const err = error instanceof WatchSourceError ? error : new WatchSourceError("failed", messageOf(error), { cause: error });
    root.gone = err.reason === "root-gone";
    emit({ type: "source-error", at: Date.now(), reason: err.reason, message: err.message, retryInMs: next.delayMs });
    restartTimer = setTimeout(() => subscribe(true), next.delayMs);
  };

  // The watch's one change stream: excludes applied once, the same changes handed to every lane.
  const deliver = (events: readonly SourceEvent[]): void => {
    settle.note(events);
    const changes = buildChanges(events, excluded);
    if (changes.length === 0) return;
    const now = performance.now();
    for (const lane of lanes) lane.add(changes, now);
  };

  const subscribe = (afterError: boolean): void => {
    if (stopping) return;
    const current: Subscription = source.subscribe({
      onEvents: (events) => {
        if (sub !== current || stopping) return;
        // Events were dropped, or the source cannot trust its names: a full sync of every lane at
        // once. It subsumes what came before it in the batch; what came after goes out after it.
        let from = 0;
        for (let i = 0; i < events.length; i++) {
          const full = fullSyncRequest(events[i] as SourceEvent);
          if (full === undefined) continue;
          deliver(events.slice(from, i));
          if (full.overflow) emit({ type: "overflow", at: Date.now(), watcher: source.kind });
          requestFull(full.reason);
          from = i + 1;
        }
        deliver(from === 0 ? events : events.slice(from));
      },
      onError: (error) => {
        if (sub === current) failSource(error);
      },
      onUnwatched: (dirs) => {
        if (sub === current && !stopping) unwatched.note(dirs);
      },
    });
    sub = current;
    current.ready.then(
      ({ watches }) => {
        if (sub !== current || stopping) return;
        restart = FRESH_SOURCE;
        root.gone = false;
        emit({ type: "source-ready", at: Date.now(), watcher: source.kind, watches, ...(source.why === undefined ? {} : { why: source.why }) });
        resolveReady({ watches });
        if (resumeOnReady) {
          resumeOnReady = false;
          for (const lane of lanes) if (lane.haltedFor() === RESUMABLE) lane.resume("source back");
        } else if (afterError) requestFull("watcher restarted");
        else if (options.fullSyncAtStart !== undefined) requestFull(options.fullSyncAtStart);
        else if (spec.initialSync) requestFull(INITIAL_SYNC);
      },
      (error: unknown) => {
        if (sub === current) failSource(error);
      },
    );
  };

  // Watches the root afresh (after a halt: what the old watches saw may not be the root any more).
  const restartSource = (): void => {
    clearTimeout(restartTimer);
    const old = sub;
    sub = undefined;
    void old?.close();
    subscribe(true);
  };

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      emit({ type: "stopping", at: Date.now() });
      clearTimeout(restartTimer);
      settle.flushAndStop(); // written, not closed: in the final flush like the rest
      resumePoll?.stop();
      for (const lane of lanes) lane.beginStop();
      const old = sub;
      sub = undefined;
      await old?.close();
      const left = await Promise.all(lanes.map((lane) => lane.finishStop(stopTimeoutMs)));
      await Promise.all(laneSpecs.flatMap((l) => (l.ssh === undefined ? [] : [stopSshMaster(l.ssh)])));
      const targets = lanes.map((lane, i) => ({ target: lane.key, pending: left[i] ?? 0 }));
      emit({ type: "stopped", at: Date.now(), pending: Math.max(0, ...left), targets });
    })();
    return stopped;
  };

  // Started while the root is not the job's (restarted while the source was replaced): halted at
  // once with what changed, and watching only once the recorded root is back (resume poll), rather
  // than a source that fails to start and keeps retrying on whatever stands in the root's place.
  if (atStart.ok) subscribe(false);
  else haltWatch(atStart.reason, atStart.message);

  return {
    watcher: source.kind,
    watches: () => sub?.watches?.(),
    ready,
    pending: () => Math.max(0, ...lanes.map((l) => l.pending())),
    halted: () => lanes.every((l) => l.halted()),
    idle: () => settle.count() === 0 && lanes.every((l) => l.idle()),
    lanes: () => lanes.map((l) => ({ key: l.key, pending: l.pending(), halted: l.halted(), idle: l.idle() && settle.count() === 0 })),
    requestFull: (reason, targets) => {
      for (const lane of lanes) {
        if (targets !== undefined && !targets.includes(lane.key)) continue;
        emit({ type: "full-sync-requested", at: Date.now(), target: lane.key, reason });
        lane.requestFull(reason);
      }
    },
    stop,
  };
}
