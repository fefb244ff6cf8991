import { join } from "node:path";
import { stateLayout } from "../state/layout.ts";
import { messageOf, RtsyncError } from "../core/errors.ts";
import { redactUrl } from "../core/redact-url.ts";
import { startRetryingWriter } from "../core/retrying-writer.ts";
import { formatIssue } from "../manifest/issues.ts";
import { gatherStatus } from "../reconcile/status.ts";
import { assessHealth, type Drift, type NodeHealth } from "../resources/health.ts";
import type { Host } from "../resources/host.ts";
import type { NodeStatus } from "../resources/node-status.ts";
import type { ApplyResult } from "../resources/plan-types.ts";
import { readAppliedRevision, writeAppliedRevision, type AppliedRevision, type RevisionSource } from "../state/agent-revision.ts";
import { writeAgentStatus, type AgentStatusDoc } from "../state/agent-status.ts";
import { hostCrashLoops, readHostStatus } from "../state/host-jobs.ts";
import { crashLooping, initialAgentState, stepAgent, type AgentAction, type AgentInput, type AgentPolicy, type AgentState } from "./decide.ts";
import { readFingerprint, startFileWatch } from "./file-watch.ts";
import { readGitHead, runGitCheckout, runGitFetch, runGitInit, type GitSource } from "./git.ts";
import { createSignatureGate } from "./signature-gate.ts";
import type { Listen } from "./flags.ts";
import { startHttpServer, type HttpServer } from "./http.ts";
import type { AgentLog } from "./logger.ts";
import { readBuildInfo } from "./build-info.ts";
import { createAgentMetrics, type MetricsSnapshot } from "./metrics.ts";
import { greetsFirst } from "../resources/daemon/greeting.ts";
import { startHangWatch } from "./hang-watch.ts";
import { startProcessPoll } from "./process-poll.ts";
import { startStateDirMark } from "./state-dir-mark.ts";
import { runReconcile, type ReconcileOutcome } from "./reconcile.ts";
import { DEFAULT_RESTART_POLICY } from "./restarts.ts";
import { readRevision, type RefusedRevision, type Revision } from "./revision.ts";
import type { NodePolicy } from "../manifest/policy/schema.ts";
import { LogFollower } from "./run-tally.ts";
import { findRecreatedModules, recreatedReason, requestRefills } from "./module-recreated.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";

// `rtsync agent`: the wiring around the pure decision core (decide.ts). Inputs come from signals,
// a timer, the manifest's directory, the process poll and git; the core answers with reconciles,
// fetches and log lines, which this file carries out and reports back. It never stops a daemon or
// watcher on its way out: they are detached and keep replicating; the next agent adopts them from
// the inventory.

export type AgentSource = { readonly kind: "file"; readonly file: string } | { readonly kind: "git"; readonly git: GitSource };

export interface AgentOptions {
  readonly source: AgentSource;
  readonly node: string;
  readonly intervalMs: number;
  readonly listen?: Listen;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: Host;
  /** How to run rtsync itself, for watcher processes (as apply does). */
  readonly selfCommand: readonly string[];
  readonly log: AgentLog;
  /** --git: apply only commits signed by a key of this allowed-signers file (checked readable before). */
  readonly allowedSigners?: string;
  /** The node policy every revision must stay inside (--policy, /etc/rtsync/policy.yaml). */
  readonly policy?: NodePolicy;
}

export interface RunningAgent {
  /** host:port of --listen. */
  readonly address?: string;
  /** SIGHUP: reconcile now (and fetch, under --git). */
  reload(): void;
  /** SIGTERM/SIGINT: finish the reconcile in flight, leave every process running, resolve `done`. */
  stop(): void;
  readonly done: Promise<void>;
}

interface LastReconcile {
  readonly at: number;
  readonly reasons: readonly string[];
  readonly result: "converged" | "failed" | "error";
  readonly outcome?: ReconcileOutcome;
  readonly message?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

// A refusal's issue as text: FILE:LINE:COL: message, or the message alone when it has no place (line 0: a commit's signature).
const issueText = (i: { readonly file: string; readonly line: number; readonly col: number; readonly message: string }): string => (i.line === 0 ? i.message : `${i.file}:${i.line}:${i.col}: ${i.message}`);

function manifestFile(source: AgentSource): string {
  return source.kind === "file" ? source.file : join(source.git.dir, source.git.path);
}

function revisionSource(source: AgentSource): RevisionSource {
  return source.kind === "file" ? { kind: "file" } : { kind: "git", url: redactUrl(source.git.url), ref: source.git.ref, path: source.git.path };
}

// The first fetch: without it (and without an earlier checkout) the agent has nothing to run.
// With allowed signers the fetched commit is checked out only once its signature verifies
// (takeRevision), so an unsigned head never reaches the working copy.
async function prepareGit(git: GitSource, log: AgentLog, verified: boolean): Promise<string> {
  try {
    await runGitInit(git);
    const commit = await runGitFetch(git);
    if (!verified) await runGitCheckout(git, commit);
    return commit;
  } catch (e) {
    const head = await readGitHead(git);
    if (head === undefined) throw new RtsyncError("E_AGENT", "system", `cannot fetch ${git.ref} of ${redactUrl(git.url)}: ${messageOf(e)}`, { cause: e });
    log.warn({ err: messageOf(e) }, `git: cannot fetch ${git.ref} of ${redactUrl(git.url)}; starting from the checkout's commit ${head}`);
    return head;
  }
}

/** Starts the agent; resolves once it listens and has asked for its first reconcile. */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const log = o.log;
  const file = manifestFile(o.source);
  const policy: AgentPolicy = { intervalMs: o.intervalMs, git: o.source.kind === "git", restart: DEFAULT_RESTART_POLICY, retry: { initialMs: 1000, maxMs: 300_000 } };
  const startedAt = Date.now();
  const gate = o.source.kind === "git" && o.allowedSigners !== undefined ? createSignatureGate(o.source.git.dir, o.allowedSigners) : undefined;
  const firstCommit = o.source.kind === "git" ? await prepareGit(o.source.git, log, gate !== undefined) : undefined;
  let checkedOut = gate && o.source.kind === "git" ? await readGitHead(o.source.git) : firstCommit;

  let state: AgentState = initialAgentState(Date.now(), policy);
  let reconciling = false;
  let lastGood: Revision | undefined;
  let refused: AgentStatusDoc["refused"] = null;
  // --allowed-signers: the newest fetched commit's signature does not verify.
  let unsignedHead = false;
  let last: LastReconcile | undefined;
  let applied: AppliedRevision | undefined;
  let fingerprint = "";
  let lastReadKey = "";
  let lastWritten = "";
  let watched: string[] = o.source.kind === "file" ? [file] : [];
  let wakeTimer: NodeJS.Timeout | undefined;
  let exited = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const followers = new Map<string, LogFollower>();
  // The agent's documents: a write that fails is retried until one succeeds (`rtsync status` reads them).
  const documentWriter = <T>(what: string, write: (stateDir: string, doc: T) => Promise<void>, fileOf?: (stateDir: string) => string) =>
    startRetryingWriter((d: { readonly stateDir: string; readonly doc: T }) => write(d.stateDir, d.doc), {
      delayMs: 0,
      ...(fileOf === undefined ? {} : { fileOf: (d: { readonly stateDir: string }) => fileOf(d.stateDir) }),
      onError: (e, attempt, retryInMs) => log.error({ err: messageOf(e), attempt }, `cannot write ${what}: ${messageOf(e)}; trying again in ${Math.round(retryInMs / 1000)} s`),
      onRecovered: (failures) => log.info({ failures }, `wrote ${what} again after ${failures} failed ${failures === 1 ? "attempt" : "attempts"}`),
    });
  const stateDirMark = startStateDirMark();
  const statusWriter = documentWriter("the agent's status", writeAgentStatus);
  // The applied revision: a record removed or written over by anyone else is written again at the
  // next reconcile (revisionWriter.repair()); `rtsync status` reads it to tell what runs.
  const revisionWriter = documentWriter("the applied revision", writeAppliedRevision, stateLayout.agentRevision);

  // What crash-loops: processes the agent keeps starting again (decide.ts), and jobs the watch
  // host keeps restarting in place (its status.json: a job that fails inside the host never dies
  // as a process, so the agent would not see it). An unreadable host status counts as none here:
  // the hang watch logs it, and the host writes it again on its next heartbeat.
  const allCrashLoops = async (now: number): Promise<Array<{ id: string; deaths: number; nextRestartAt: string | null }>> => {
    const own = crashLooping(state, now, policy).map((c) => ({ id: c.id, deaths: c.deaths, nextRestartAt: c.nextRestartAt === undefined ? null : iso(c.nextRestartAt) }));
    const stateDir = lastGood?.resolved.stateDir;
    const names = new Set(lastGood?.resolved.watches.map((w) => w.name) ?? []);
    const hosted = stateDir === undefined ? [] : hostCrashLoops(await readHostStatus(stateDir).catch(() => undefined)).filter((l) => names.has(l.name));
    return [...own, ...hosted.map((l) => ({ id: `watcher:${l.name}`, deaths: l.failures, nextRestartAt: l.retryAt })).filter((l) => !own.some((o) => o.id === l.id))];
  };

  // Health, as /healthz and metrics see it now.
  const readHealth = async (): Promise<{ status: NodeStatus; health: NodeHealth } | undefined> => {
    if (lastGood === undefined) return undefined;
    const status = await gatherStatus(lastGood.resolved, o.host);
    const drift: Drift = last?.outcome ? { known: true, outOfSync: last.outcome.outOfSync, unknown: [] } : { known: false, reason: last ? `the last reconcile failed: ${last.message ?? "?"}` : "no reconcile has run yet" };
    const now = Date.now();
    const agent = {
      crashLooping: await allCrashLoops(now),
      refused: refused ? { revision: refused.revision, issues: refused.issues.map(issueText) } : null,
    };
    return { status, health: assessHealth({ status, drift, nodeMatch: lastGood.nodeMatch, agent }) };
  };

  const build = readBuildInfo();
  const metrics = createAgentMetrics(async (): Promise<MetricsSnapshot> => {
    const now = Date.now();
    const seen = await readHealth();
    const loops = new Set((await allCrashLoops(now)).map((c) => c.id));
    const restarts = (id: string) => state.tracks.get(id)?.restarts ?? 0;
    const watches = await Promise.all(
      (seen?.status.watchers ?? []).map(async (w) => {
        const resolved = lastGood?.resolved.watches.find((x) => x.name === w.name);
        const dir = resolved?.dir ?? "";
        let follower = followers.get(dir);
        if (follower === undefined) followers.set(dir, (follower = new LogFollower(dir)));
        return { name: w.name, targets: resolved?.targets.map((t) => t.key) ?? [], up: w.running && w.responding !== false, report: w.report, tally: await follower.read(), restarts: restarts(`watcher:${w.name}`), crashLooping: loops.has(`watcher:${w.name}`) };
      }),
    );
    const daemons = (seen?.status.daemons ?? []).map((d) => ({ name: d.name, up: d.running && d.responding !== false, restarts: restarts(`daemon:${d.name}`), crashLooping: loops.has(`daemon:${d.name}`) }));
    const health: NodeHealth = seen?.health ?? { sync: "Unknown", health: "Degraded", healthy: false, converged: false, problems: [], daemons: [], watchers: [] };
    return { node: o.node, now, health, watches, daemons, revision: applied, refused: refused !== null, unsigned: unsignedHead, drifted: last?.outcome?.drifted ?? 0, outOfSync: last?.outcome?.outOfSync.length ?? 0 };
  }, build);

  const writeStatus = async (): Promise<void> => {
    if (lastGood === undefined) return;
    stateDirMark.hold(lastGood.resolved.stateDir);
    const now = Date.now();
    const doc: AgentStatusDoc = {
      version: 1,
      pid: process.pid,
      node: o.node,
      startedAt: iso(startedAt),
      updatedAt: iso(now),
      refused,
      crashLooping: await allCrashLoops(now),
      lastReconcile: last
        ? {
            at: iso(last.at),
            reasons: [...last.reasons],
            result: last.result,
            durationMs: Math.round(last.outcome?.durationMs ?? 0),
            changed: last.outcome?.changed ?? 0,
            failed: (last.outcome?.failed ?? 0) + (last.outcome?.failedStarts.length ?? 0),
            outOfSync: [...(last.outcome?.outOfSync ?? [])],
            ...(last.message ? { message: last.message } : {}),
          }
        : null,
    };
    // Written when something other than the clock changed: an idle agent writes nothing.
    const { updatedAt: _u, lastReconcile, ...rest } = doc;
    const projection = JSON.stringify({ ...rest, lastReconcile: lastReconcile && { ...lastReconcile, at: "", durationMs: 0 } });
    if (projection === lastWritten) return;
    lastWritten = projection;
    statusWriter.update({ stateDir: lastGood.resolved.stateDir, doc });
    await statusWriter.flush();
  };

  const logResult = (r: ApplyResult): void => {
    const fields = { resource: r.change.id, status: r.status, ...(r.pid === undefined ? {} : { pid: r.pid }) };
    if (r.status === "changed") log.info(fields, `${r.change.title}: done`);
    else log.error(fields, `${r.change.title}: ${r.status}${r.message ? `: ${r.message}` : ""}`);
  };

  // A module directory created again under a running daemon: warn, count, and have the local
  // watches that replicate into it fill it now (module-recreated.ts).
  const reportRecreatedModules = async (resolved: ResolvedManifest, results: readonly ApplyResult[]): Promise<void> => {
    const recreated = findRecreatedModules(resolved, results);
    for (const r of recreated) {
      metrics.observeModuleRecreated(r.daemon, r.module);
      const refill = r.watches.length === 0 ? "the senders' next full sync fills it" : `full sync requested from watch ${r.watches.map((w) => w.name).join(", ")}`;
      log.warn({ daemon: r.daemon, module: r.module, path: r.path }, `${recreatedReason(r)} (it was removed while the daemon ran): ${refill}`);
    }
    if (recreated.length > 0) await requestRefills(resolved, o.host, recreated).catch((e: unknown) => log.error({ error: messageOf(e) }, `cannot request the full sync that refills a recreated module: ${messageOf(e)}`));
  };

  // Takes in the manifest revision (or refuses it); returns what to converge to, if anything.
  const takeRevision = async (commit: string | undefined, reasons: readonly string[]): Promise<Revision | undefined> => {
    // A commit whose signature does not verify is refused before it is checked out; the agent
    // keeps the revision it runs (at start: the working copy's earlier, verified commit).
    let unsigned: AgentStatusDoc["refused"] = null;
    if (o.source.kind === "git" && commit !== undefined && commit !== checkedOut) {
      const verdict = gate ? await gate.check(commit) : { ok: true as const };
      if (verdict.ok) {
        await runGitCheckout(o.source.git, commit);
        checkedOut = commit;
      } else {
        if (refused?.revision !== commit) {
          metrics.observeReconcile("refused", 0);
          log.error({ revision: commit, reasons }, `refused commit ${commit.slice(0, 12)}: ${verdict.reason}; still running ${lastGood ? `revision ${lastGood.revision.slice(0, 12)}` : checkedOut ? `the checkout's commit ${checkedOut.slice(0, 12)}` : "nothing (no verified revision yet)"}`);
        }
        unsigned = { revision: commit, at: iso(Date.now()), issues: [{ file, line: 0, col: 0, message: verdict.reason }] };
        refused = unsigned;
      }
    }
    // The head went back to a verified commit (a revert pushed by force): its refusal is over.
    if (unsigned === null && unsignedHead) refused = null;
    unsignedHead = unsigned !== null;
    if (unsigned !== null && (lastGood !== undefined || checkedOut === undefined)) return lastGood;
    let files = [...watched];
    let before = await readFingerprint(files);
    // The same bytes (and commit) as last time: the same verdict, without parsing again.
    if (`${before}:${checkedOut ?? ""}` === lastReadKey) return lastGood;
    const read = (): Promise<Revision | RefusedRevision> =>
      o.source.kind === "git" ? readRevision(file, o.node, o.env, checkedOut, o.source.git.dir, o.policy) : readRevision(file, o.node, o.env, undefined, undefined, o.policy);
    let rev = await read();
    // Its password files are known only now: fingerprinted before a read of their own, so that the
    // next look finds the same bytes and parses nothing (else the first interval reconcile parsed
    // the manifest again, ~10 ms of an agent at rest).
    const withPasswords = rev.ok ? [...(o.source.kind === "file" ? [file] : []), ...rev.passwordFiles] : files;
    if (withPasswords.join("\0") !== files.join("\0")) {
      files = withPasswords;
      before = await readFingerprint(files);
      rev = await read();
    }
    fingerprint = before;
    lastReadKey = `${before}:${checkedOut ?? ""}`;
    if (!rev.ok) {
      if (refused?.revision !== rev.revision) {
        metrics.observeReconcile("refused", 0);
        // One event, one line: the issues (FILE:LINE:COL: message) are in it, and in its `issues` field.
        const where = rev.issues.map(formatIssue);
        log.error({ revision: rev.revision, issues: where, reasons }, `refused manifest revision ${rev.revision.slice(0, 12)}: ${rev.message}${where.length > 0 ? ` (${where.join("; ")})` : ""}; still running ${lastGood ? `revision ${lastGood.revision.slice(0, 12)}` : "nothing (no valid revision yet)"}`);
      }
      // A revision that could not be read has no positions: its one sentence is the issue.
      const issues = rev.issues.length > 0 ? rev.issues.map((i) => ({ file: i.file, line: i.line, col: i.col, message: i.message })) : [{ file, line: 0, col: 0, message: rev.message }];
      refused = { revision: rev.revision, at: iso(Date.now()), issues };
      return lastGood;
    }
    if (refused !== null && unsigned === null) log.info({ revision: rev.revision }, `manifest revision ${rev.revision.slice(0, 12)} is valid again`);
    refused = unsigned;
    if (rev.revision !== lastGood?.revision) {
      log.info({ revision: rev.revision, manifest: file, reasons }, `applying manifest revision ${rev.revision.slice(0, 12)} for node ${o.node}`);
      for (const w of rev.warnings) log.warn({ revision: rev.revision }, formatIssue(w));
    }
    if (applied === undefined && lastGood === undefined) {
      applied = await readAppliedRevision(rev.resolved.stateDir).catch((e: unknown) => {
        log.warn(`${messageOf(e)}; the agent writes it again after this reconcile`);
        return undefined;
      });
      // Written once as found, so that the writer knows it as its own and repair() can restore it.
      if (applied !== undefined) revisionWriter.update({ stateDir: rev.resolved.stateDir, doc: applied });
    }
    lastGood = rev;
    watched = [...(o.source.kind === "file" ? [file] : []), ...rev.passwordFiles];
    fileWatch.update(watched);
    if (files.join("\0") !== watched.join("\0")) fingerprint = await readFingerprint(watched);
    poll.update({
      stateDir: rev.resolved.stateDir,
      owner: rev.resolved.owner,
      daemons: new Set(rev.resolved.daemons.map((d) => d.name)),
      watchers: new Set(rev.resolved.watches.map((w) => w.name)),
    });
    hangWatch.update({
      stateDir: rev.resolved.stateDir,
      owner: rev.resolved.owner,
      watchers: rev.resolved.watches.map((w) => ({ name: w.name, dir: w.dir })),
      daemons: rev.resolved.daemons.filter((d) => greetsFirst(d.options)).map((d) => ({ name: d.name, address: d.address, port: d.port })),
    });
    return rev;
  };

  const recordApplied = async (rev: Revision, outcome: ReconcileOutcome): Promise<void> => {
    const result = outcome.outOfSync.length === 0 ? "converged" : "failed";
    if (applied?.revision === rev.revision && applied.result === result && applied.node === o.node && applied.text !== undefined) {
      revisionWriter.repair();
      return;
    }
    const now = iso(Date.now());
    applied = {
      version: 1,
      revision: rev.revision,
      source: revisionSource(o.source),
      manifest: rev.resolved.file,
      node: o.node,
      appliedAt: applied?.revision === rev.revision ? applied.appliedAt : now,
      result,
      changed: outcome.changed,
      failed: outcome.outOfSync.length,
      text: rev.text,
    };
    revisionWriter.update({ stateDir: rev.resolved.stateDir, doc: applied });
    await revisionWriter.flush();
  };

  const reconcile = async (a: Extract<AgentAction, { type: "reconcile" }>): Promise<AgentInput> => {
    const at = Date.now();
    reconciling = true;
    try {
      const rev = await takeRevision(a.commit, a.reasons);
      if (rev === undefined) {
        await writeStatus();
        return { type: "reconciled", started: [], failedStarts: [], failed: 0, now: Date.now() };
      }
      log.debug({ reasons: a.reasons, hold: a.hold }, "reconciling");
      const outcome = await runReconcile({ resolved: rev.resolved, hold: new Set(a.hold), host: o.host, env: o.env, selfCommand: o.selfCommand, onResult: logResult });
      // Converged: nothing left that differs (a process held back by its backoff differs).
      const result = outcome.outOfSync.length === 0 ? "converged" : "failed";
      metrics.observeReconcile(result, outcome.durationMs / 1000);
      last = { at, reasons: a.reasons, result, outcome };
      // Every reconcile has its outcome line, one that changed nothing too (an operator sees the agent at work).
      const level = result === "converged" ? "info" : "warn";
      const held = a.hold.filter((id) => outcome.outOfSync.includes(id));
      const heldText = held.length > 0 ? ` (held back: ${held.join(", ")})` : "";
      log[level](
        { reasons: a.reasons, changed: outcome.changed, outOfSync: outcome.outOfSync, durationMs: Math.round(outcome.durationMs) },
        `reconcile ${result}: ${outcome.changed} changed, ${outcome.outOfSync.length} out of sync${heldText} (${a.reasons.join(", ")})`,
      );
      await reportRecreatedModules(rev.resolved, outcome.results);
      await recordApplied(rev, outcome);
      return { type: "reconciled", started: outcome.started, failedStarts: outcome.failedStarts, failed: outcome.failed, now: Date.now() };
    } catch (e) {
      metrics.observeReconcile("error", (Date.now() - at) / 1000);
      last = { at, reasons: a.reasons, result: "error", message: messageOf(e) };
      return { type: "reconcile-failed", message: messageOf(e), now: Date.now() };
    } finally {
      reconciling = false;
    }
  };

  const fetch = async (): Promise<AgentInput> => {
    if (o.source.kind !== "git") return { type: "fetch-failed", message: "not a git source", now: Date.now() };
    try {
      return { type: "fetched", commit: await runGitFetch(o.source.git), now: Date.now() };
    } catch (e) {
      return { type: "fetch-failed", message: messageOf(e), now: Date.now() };
    }
  };

  const carryOut = (action: AgentAction): void => {
    switch (action.type) {
      case "reconcile":
        void reconcile(action).then(async (input) => {
          dispatch(input);
          await writeStatus();
        });
        return;
      case "fetch":
        void fetch().then(dispatch);
        return;
      case "log":
        log[action.level](action.resource ? { resource: action.resource } : {}, action.msg);
        return;
      case "exit":
        exited = true;
        clearTimeout(wakeTimer);
        statusWriter.close();
        revisionWriter.close();
        stateDirMark.close();
        poll.stop();
        hangWatch.stop();
        fileWatch.close();
        void (server?.close() ?? Promise.resolve()).then(() => {
          log.info({}, "stopped; daemons and watchers keep running");
          resolveDone();
        });
        return;
    }
  };

  function dispatch(input: AgentInput): void {
    if (exited) return;
    const step = stepAgent(state, input, policy);
    state = step.state;
    clearTimeout(wakeTimer);
    // setTimeout fires at once for more than 2^31-1 ms (24.8 days); a longer wait wakes early, harmlessly.
    wakeTimer = setTimeout(() => dispatch({ type: "wake", now: Date.now() }), Math.min(2 ** 31 - 1, Math.max(0, step.wakeAt - Date.now())));
    for (const action of step.actions) carryOut(action);
  }

  const poll = startProcessPoll(o.host, {
    paused: () => reconciling || state.phase !== "idle",
    onDied: (d) => {
      dispatch({ type: "process-died", id: d.id, pid: d.pid, startedAt: d.startedAt, now: Date.now() });
      void writeStatus();
    },
  });
  // A watcher that stopped beating, or a daemon that stopped greeting, is killed after a grace; the poll then restarts it.
  const hangWatch = startHangWatch(o.host, {
    paused: () => reconciling || state.phase !== "idle",
    onReplaced: (r) => log.warn({ resource: r.id, pid: r.pid, since: r.since }, `${r.id} not responding since ${r.since} (${r.id.startsWith("daemon:") ? "no greeting" : "no heartbeat"} for ${Math.round(r.silentMs / 1000)} s); replacing it: SIGKILL to pid ${r.pid}`),
    onUnwritable: (id, message) => log.error({ resource: id }, `${id}: ${message}`),
    onUnreadable: (message) => log.error(`liveness check: ${message}; not judged until it can be read`),
  });
  const fileWatch = startFileWatch(() => {
    void readFingerprint(watched).then((fp) => {
      if (fp === fingerprint) return;
      fingerprint = fp;
      dispatch({ type: "trigger", reason: "manifest or password file changed", fetch: false, now: Date.now() });
    });
  });
  fileWatch.update(watched);

  let server: HttpServer | undefined;
  try {
    if (o.listen) {
      server = await startHttpServer(o.listen, {
        metrics: async () => ({ body: await metrics.render(), contentType: metrics.contentType }),
        health: async () => {
          const seen = await readHealth();
          const revision = applied ? { revision: applied.revision, appliedAt: applied.appliedAt, result: applied.result } : null;
          if (seen === undefined) {
            const problems = [{ message: refused ? `manifest revision ${refused.revision} was refused: ${refused.issues.map(issueText).join("; ") || "it cannot be read"}` : "no manifest revision applied yet" }];
            return { ok: false, body: { node: o.node, converged: false, sync: "Unknown", health: "Missing", revision, problems } };
          }
          const { health } = seen;
          return {
            ok: health.converged,
            body: { node: o.node, converged: health.converged, sync: health.sync, health: health.health, revision, problems: health.problems, daemons: health.daemons, watchers: health.watchers },
          };
        },
      });
      log.info({ address: server.address }, `serving /metrics, /healthz and /livez on http://${server.address}`);
    }
  } catch (e) {
    poll.stop();
    hangWatch.stop();
    fileWatch.close();
    throw e;
  }

  log.info({ manifest: file, interval: o.intervalMs, ...(firstCommit ? { commit: firstCommit } : {}) }, `rtsync agent started for node ${o.node}`);
  dispatch({ type: "start", now: Date.now(), ...(firstCommit ? { commit: firstCommit } : {}) });

  return {
    ...(server ? { address: server.address } : {}),
    reload: () => dispatch({ type: "trigger", reason: "SIGHUP", fetch: o.source.kind === "git", now: Date.now() }),
    stop: () => dispatch({ type: "stop", now: Date.now() }),
    done,
  };
}
