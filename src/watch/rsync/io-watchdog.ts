import { readFileSync } from "node:fs";

// rsync's --timeout does not bound a stalled run: against a daemon that accepts the connection
// (the kernel's backlog does, even for a stopped rsyncd) and never greets, `--timeout=60` ended
// the run after 90 s, `--timeout=5` after 9 s (rsync checks its timer at half-timeout steps and
// starts counting late). This watchdog makes the documented value the real one: it reads the
// bytes rsync has read and written (/proc/PID/io, sockets and pipes included) every second and
// stops rsync once none moved for the run's own --timeout. A quiet stretch of a healthy run is
// not a stall: with --timeout set, rsync's keep-alives move bytes every timeout/2.

/** The run's I/O timeout in ms: the last --timeout on the command line (rsync keeps the last); undefined when none or 0. Pure. */
export function parseIoTimeoutMs(args: readonly string[]): number | undefined {
  let seconds: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    const value = a.startsWith("--timeout=") ? a.slice("--timeout=".length) : a === "--timeout" ? args[i + 1] : undefined;
    if (value !== undefined && /^\d+$/.test(value)) seconds = Number(value);
  }
  return seconds === undefined || seconds === 0 ? undefined : seconds * 1000;
}

/** The bytes a process has read and written so far (rchar + wchar), or undefined when /proc does not tell. */
export function readIoBytes(pid: number, procRoot = "/proc"): number | undefined {
  try {
    const text = readFileSync(`${procRoot}/${pid}/io`, "latin1");
    const field = (name: string): number => Number(/^(\w+): (\d+)$/m.exec(text.split("\n").find((l) => l.startsWith(`${name}:`)) ?? "")?.[2] ?? Number.NaN);
    const total = field("rchar") + field("wchar");
    return Number.isFinite(total) ? total : undefined;
  } catch {
    return undefined;
  }
}

export interface IoWatchdog {
  stop(): void;
}

export interface IoWatchdogOptions {
  readonly pid: number;
  readonly timeoutMs: number;
  /** No byte moved for `timeoutMs`: the run is stopped (called once). */
  readonly onExpired: (idleMs: number) => void;
  /**
   * No byte moved for longer than rsync's keep-alive lull (half the timeout, plus 2 s): the run is
   * stalled, with the time of its last byte; called again with undefined once bytes move again.
   */
  readonly onStall?: (lastMovedAt: number | undefined) => void;
  readonly pollMs?: number;
}

/** Watches one rsync's I/O until stop(); calls onExpired once when it stalled for its timeout. */
export function startIoWatchdog(o: IoWatchdogOptions): IoWatchdog {
  let last = readIoBytes(o.pid);
  let lastMovedAt = performance.now();
  let stalled = false;
  const stallMs = Math.min(o.timeoutMs / 2 + 2000, o.timeoutMs - 1000);
  const timer = setInterval(() => {
    const now = performance.now();
    const bytes = readIoBytes(o.pid);
    if (bytes === undefined) return; // gone, or /proc does not tell: rsync's own timeout stays
    if (bytes !== last) {
      last = bytes;
      lastMovedAt = now;
      if (stalled) o.onStall?.(undefined);
      stalled = false;
      return;
    }
    if (!stalled && now - lastMovedAt >= stallMs) {
      stalled = true;
      o.onStall?.(Date.now() - (now - lastMovedAt));
    }
    if (now - lastMovedAt < o.timeoutMs) return;
    clearInterval(timer);
    o.onExpired(now - lastMovedAt);
  }, o.pollMs ?? 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
