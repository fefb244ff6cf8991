import { spawn } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openSessions, parseDaemonSessions, type DaemonSession } from "./daemon-log.ts";
import { isAlive, stopTree } from "./proc.ts";

// The receiving side for the peers (classic loop, lsyncd, floor): a real `rsync --daemon` on
// 127.0.0.1 at a free port, one writable module `replica` with one auth user.

export const BENCH_USER = "bench";
export const BENCH_PASSWORD = "bench-password";
export const MODULE = "replica";

export interface RsyncDaemon {
  readonly pid: number;
  readonly port: number;
  readonly logPath: string;
  /** client password file (mode 0600, the password alone) */
  readonly passwordFile: string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the kernel picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

export async function writePasswordFile(path: string): Promise<void> {
  await writeFile(path, `${BENCH_PASSWORD}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * Starts the daemon in `dir` (its config, secrets and log live there). `port`: listen on this one
 * instead of a free one, e.g. to bring a stopped daemon back where its clients expect it (the log
 * file is appended to, so offsets taken before stay valid).
 */
export async function startRsyncDaemon(dir: string, replica: string, opts: { readonly port?: number } = {}): Promise<RsyncDaemon> {
  const port = opts.port ?? (await findFreePort());
  const config = join(dir, "rsyncd.conf");
  const secrets = join(dir, "rsyncd.secrets");
  const logPath = join(dir, "rsyncd.log");
  const passwordFile = join(dir, "client.password");
  // As root rsyncd would drop to nobody; root:root keeps owners equal to the source's, so the
  // verification's -a comparison is fair. No chroot, like the classic recipe's rsyncd.conf.
  await writeFile(
    config,
    [
      `pid file = ${join(dir, "rsyncd.pid")}`,
      `lock file = ${join(dir, "rsyncd.lock")}`,
      `log file = ${logPath}`,
      "use chroot = no",
      "max connections = 200",
      "timeout = 300",
      `[${MODULE}]`,
      `path = ${replica}`,
      "read only = false",
      "list = false",
      "ignore errors = yes",
      `uid = ${process.getuid?.() ?? 0}`,
      `gid = ${process.getgid?.() ?? 0}`,
      "hosts allow = 127.0.0.1",
      `auth users = ${BENCH_USER}`,
      `secrets file = ${secrets}`,
      "",
    ].join("\n"),
  );
  await writeFile(secrets, `${BENCH_USER}:${BENCH_PASSWORD}\n`, { mode: 0o600 });
  await writePasswordFile(passwordFile);
  // stdin must not be a socket: rsync would think inetd started it and never listen.
  const child = spawn("rsync", ["--daemon", "--no-detach", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1"], {
    stdio: "ignore",
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start rsync --daemon");
  child.unref();
  const until = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (!isAlive(pid) || Date.now() > until) {
      const log = await readFile(logPath, "utf8").catch(() => "");
      await stopTree(pid, { group: true });
      throw new Error(`rsync --daemon did not start on 127.0.0.1:${port}: ${log.trim().split("\n").pop() ?? ""}`);
    }
    await sleep(20);
  }
  return { pid, port, logPath, passwordFile, stop: () => stopTree(pid, { group: true, graceMs: 2000 }) };
}

/** A position in a log file, and the finished sessions logged after it. */
export async function logSize(path: string): Promise<number> {
  return (await readFile(path).catch(() => Buffer.alloc(0))).length;
}

export async function readSessionsSince(path: string, offset: number): Promise<DaemonSession[]> {
  const buf = await readFile(path).catch(() => Buffer.alloc(0));
  return parseDaemonSessions(buf.subarray(offset).toString("utf8"));
}

/**
 * Waits until every session that started after `offset` has logged its totals: rsyncd writes
 * them just after the client hangs up, so a client that has exited is not yet a logged session.
 * Resolves false if some are still open after `timeoutMs` (a tool still running).
 */
export async function waitSessionsClosed(path: string, offset: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const buf = await readFile(path).catch(() => Buffer.alloc(0));
    if (openSessions(buf.subarray(offset).toString("utf8")).length === 0) return true;
    if (Date.now() > until) return false;
    await sleep(20);
  }
}
