import type { Progress, RunOutcome } from "../../state/watcher-status.ts";
import { mkdir } from "node:fs/promises";
import { setPriority } from "node:os";
import { dirname } from "node:path";
import { describeHostKeyFailure, describeRrsyncRefusal, type SshSpec } from "../../core/ssh-command.ts";
import { spawnChild } from "../children.ts";
import { parseIoTimeoutMs, startIoWatchdog } from "./io-watchdog.ts";
import { classifyRun, parseFullSyncStats, parseProgressLine, parseTransferStats, summarizeStderr } from "./result.ts";

// Runs one rsync and says what its exit code means. It never throws for a failed transfer:
// every outcome is data for the batcher.
//
// Node's spawn rather than execa: this is the hot path of every change, and execa's option
// handling measured 1.5-2 ms per run on top of spawn's 6 ms, against a whole push of ~15 ms.

export interface RsyncRequest {
  readonly args: readonly string[];
  /** Bytes for rsync's stdin (the --include-from=- list). */
  readonly input?: Buffer;
  /** Aborting stops rsync (SIGTERM) and makes the outcome "cancelled". */
  readonly signal?: AbortSignal;
  /** The rsync binary, an absolute path (the spec's `rsync`). */
  readonly binary: string;
  /** Run it under `setpriv --pdeathsig SIGTERM` (the spec's `setpriv`): it dies with the watcher. */
  readonly setpriv?: string;
  /** Called with each --info=progress2 update. */
  readonly onProgress?: (progress: Progress) => void;
  /** Called with each line of stdout (latin1: one char per byte), e.g. the --out-format lines of a full sync. */
  readonly onLine?: (line: string) => void;
  /** rsync moved no data for longer than its keep-alive lull (epoch ms of its last byte), or again does (undefined). */
  readonly onStall?: (lastMovedAt: number | undefined) => void;
  /** Return the tail of rsync's stdout in `output` (a --list-only listing). */
  readonly keepOutput?: boolean;
  /** A descriptor rsync gets as its fd 3 (the pinned source root: its args name /proc/self/fd/3/). */
  readonly fd3?: number;
  /** Bulk work (a full sync, a storm's batch): run at this nice value, so small runs of other jobs and lanes go first. */
  readonly nice?: number;
  /** An ssh target's login (the args carry its --rsh): its control socket's directory is made, its host key failures explained. */
  readonly ssh?: SshSpec;
}

export interface RsyncResult {
  readonly outcome: RunOutcome;
  /** rsync's exit code; -1 when it could not be started or was killed. */
  readonly exitCode: number;
  readonly durationMs: number;
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  /** Regular files transferred and entries deleted (--info=stats2: full syncs). */
  readonly transferred?: number;
  readonly deleted?: number;
  /** The first lines of rsync's stderr (errors, warnings). */
  readonly messages: readonly string[];
  /** Full syncs: the CPU seconds both ends cost (child-cpu.ts; the receiver estimated for a remote one). */
  readonly cpuSeconds?: number;
  /** The last 8 KiB of stdout, when asked for with `keepOutput`. */
  readonly output?: string;
}

const STDOUT_TAIL = 8192;
const STDERR_HEAD = 16_384;
const PROGRESS_EVERY_MS = 250;
const RSYNC_TIMEOUT_EXIT = 30;

// ssh's own failures, in one sentence: a host key that is not the pinned one is an authentication
// problem (retried slowly, until the pin or the host is fixed); a read refused by a write-only
// receiver will not pass by retrying.
function readSshProblem(ssh: SshSpec, code: number, stderr: string, messages: readonly string[]): { readonly outcome: RsyncResult["outcome"]; readonly message: string } | undefined {
  if (code === 0) return undefined;
  const hostKey = describeHostKeyFailure(stderr, ssh);
  if (hostKey !== undefined) return { outcome: "auth", message: hostKey };
  const refused = describeRrsyncRefusal(messages);
  if (refused !== undefined) return { outcome: "fatal", message: refused };
  return undefined;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly spawnError?: NodeJS.ErrnoException;
}

// rsync's output is not buffered whole: --info=progress2 prints a line per file (~75 bytes each,
// 75 MB at a million files), so only the tail of stdout (the stats line) and the head of stderr
// (the first errors) are kept.
export async function runRsync(request: RsyncRequest): Promise<RsyncResult> {
  const started = performance.now();
  if (request.ssh !== undefined) await mkdir(dirname(request.ssh.controlPath), { recursive: true, mode: 0o700 }).catch(() => undefined);
  const binary = request.binary;
  const stdio: Array<"pipe" | number> = request.fd3 === undefined ? ["pipe", "pipe", "pipe"] : ["pipe", "pipe", "pipe", request.fd3];
  const child = spawnChild(binary, request.args, request.setpriv, { stdio, env: { ...process.env, LC_ALL: "C" } });
  if (request.nice !== undefined && child.pid !== undefined) {
    try {
      setPriority(child.pid, request.nice);
    } catch {
      // gone already, or not allowed: it runs at the normal priority
    }
  }
  const exited = new Promise<Exit>((resolve) => {
    child.once("error", (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, spawnError: error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  // Cancelled: SIGTERM, then SIGKILL if rsync has not gone 3 s later.
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const cancel = (): void => {
    cancelled = true;
    child.kill("SIGTERM");
    killTimer = setTimeout(() => child.kill("SIGKILL"), 3000);
  };
  // Stalled (no byte moved for the run's --timeout): stopped the same way, and retried (io-watchdog.ts).
  const ioTimeoutMs = parseIoTimeoutMs(request.args);
  let stalled: number | undefined;
  const watchdog =
    ioTimeoutMs === undefined || child.pid === undefined
      ? undefined
      : startIoWatchdog({
          pid: child.pid,
          timeoutMs: ioTimeoutMs,
          ...(request.onStall ? { onStall: request.onStall } : {}),
          onExpired: (idleMs) => {
            stalled = idleMs;
            child.kill("SIGTERM");
            killTimer = setTimeout(() => child.kill("SIGKILL"), 3000);
          },
        });
  if (request.signal?.aborted) cancel();
  else request.signal?.addEventListener("abort", cancel, { once: true });
  const { stdin, stdout, stderr: stderrStream } = child;
  if (stdin === null || stdout === null || stderrStream === null) throw new Error("rsync was spawned without pipes");
  stdin.on("error", () => undefined); // rsync may exit before reading its input
  stdin.end(request.input ?? Buffer.alloc(0));

  const onProgress = request.onProgress;
  let tail = "";
  let lastProgressAt = 0;
  // The newest complete progress line in the tail goes to onProgress, at most every 250 ms.
  const reportProgress = (): void => {
    if (onProgress === undefined) return;
    const lines = tail.split(/[\r\n]/);
    lines.pop(); // maybe incomplete
    for (let i = lines.length - 1; i >= 0; i--) {
      const progress = parseProgressLine(lines[i] ?? "");
      if (progress === undefined) continue;
      lastProgressAt = performance.now();
      onProgress(progress);
      return;
    }
  };
  const onLine = request.onLine;
  let partial = "";
  stdout.on("data", (chunk: Buffer) => {
    const text = chunk.toString("latin1");
    if (onLine !== undefined) {
      const lines = (partial + text).split(/[\r\n]/);
      partial = lines.pop() ?? "";
      for (const line of lines) if (line !== "") onLine(line);
    }
    tail = (tail + text).slice(-STDOUT_TAIL);
    if (performance.now() - lastProgressAt >= PROGRESS_EVERY_MS) reportProgress();
  });
  let stderr = "";
  stderrStream.on("data", (chunk: Buffer) => {
    if (stderr.length < STDERR_HEAD) stderr += chunk.toString("utf8");
  });
  const exit = await exited;
  if (onLine !== undefined && partial !== "") onLine(partial);
  watchdog?.stop();
  clearTimeout(killTimer);
  request.signal?.removeEventListener("abort", cancel);
  reportProgress(); // the final figures, which the throttle may have held back
  const durationMs = Math.round(performance.now() - started);
  const messages = summarizeStderr(stderr.slice(0, STDERR_HEAD));
  if (cancelled) return { outcome: "cancelled", exitCode: exit.code ?? -1, durationMs, messages };
  if (stalled !== undefined && ioTimeoutMs !== undefined) {
    const why = `rsync moved no data for ${Math.round(stalled / 1000)} s (--timeout=${ioTimeoutMs / 1000}): the target stopped answering, so the run was stopped; it is retried`;
    // Exit code 30 ("timeout in data send/receive"), as rsync's own timeout would have ended it, only sooner.
    return { outcome: "transient", exitCode: RSYNC_TIMEOUT_EXIT, durationMs, messages: [why, ...messages] };
  }
  if (exit.code === null) {
    // Killed by a signal we did not send: worth another try. Not started at all (rsync missing): fatal.
    const missing = exit.spawnError?.code === "ENOENT";
    const program = request.setpriv ?? binary;
    const why = missing
      ? `${program} is not installed any more; install ${request.setpriv === undefined ? "rsync (apt-get install rsync)" : "util-linux"} and run \`rtsync apply\``
      : exit.spawnError !== undefined
        ? `cannot start ${program}: ${exit.spawnError.message}`
        : `rsync was killed by ${exit.signal ?? "a signal"}`;
    return { outcome: exit.signal === null ? "fatal" : "transient", exitCode: -1, durationMs, messages: [why, ...messages] };
  }
  const sshProblem = request.ssh === undefined ? undefined : readSshProblem(request.ssh, exit.code, stderr, messages);
  if (sshProblem !== undefined) return { outcome: sshProblem.outcome, exitCode: exit.code, durationMs, messages: [sshProblem.message, ...messages] };
  const stats = parseTransferStats(tail);
  const counts = parseFullSyncStats(tail);
  return {
    outcome: classifyRun(exit.code, messages),
    exitCode: exit.code,
    durationMs,
    messages,
    ...(stats === undefined ? {} : { bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived }),
    ...(counts === undefined ? {} : { transferred: counts.transferred, ...(counts.deleted === undefined ? {} : { deleted: counts.deleted }) }),
    ...(request.keepOutput === true ? { output: tail } : {}),
  };
}
