import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";

// A real `rsync --daemon` on 127.0.0.1 at a free high port, for integration tests.
//
// Two traps: stdin must be "ignore" (a socket on stdin makes rsync think inetd started it, and
// it never listens), and under root rsyncd drops to `nobody` unless uid/gid say otherwise.

export interface DaemonOptions {
  /** Module names (each gets an empty directory). Default: ["dst"]. */
  readonly modules?: readonly string[];
  /** Virtual users and passwords; when given, every module requires one of them. */
  readonly users?: Readonly<Record<string, string>>;
  /** Listen on this port instead of a free one. */
  readonly port?: number;
  /** Transfer as this uid/gid (default: the test's own); the module directories are given to it. */
  readonly uid?: number;
  readonly gid?: number;
  /** rsyncd's `max connections` (a client past it is refused: "@ERROR: max connections (N) reached"). */
  readonly maxConnections?: number;
}

export interface RsyncDaemon {
  readonly port: number;
  /** The temp directory holding rsyncd.conf, the secrets file and the module directories. */
  readonly root: string;
  /** `rsync://[user@]127.0.0.1:PORT/module`. */
  url(module: string, user?: string): string;
  /** A path inside a module's directory. */
  path(module: string, ...rel: string[]): string;
  /** Writes a 0600 client password file (for --password-file) and returns its path. */
  writePasswordFile(password: string): Promise<string>;
  /** Stops the daemon (SIGTERM by pid); start() brings it back on the same port. */
  stop(): Promise<void>;
  /**
   * Freezes it (SIGSTOP): the kernel still accepts connections into its backlog, but nothing
   * answers, so a client hangs (a target that is slow, not down). resume() sends SIGCONT.
   */
  pause(): void;
  resume(): void;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: Promise<unknown>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.finally(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`rsync --daemon exited before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`rsync --daemon did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function renderConfig(root: string, modules: readonly string[], auth: boolean, uid: number, gid: number): string {
  const lines = [`pid file = ${root}/rsyncd.pid`, "use chroot = no", `uid = ${uid}`, `gid = ${gid}`, `log file = ${root}/rsyncd.log`, ""];
  for (const m of modules) {
    // With "use chroot = no" rsyncd munges symlinks by default (/rsyncd-munged/...): replicas would differ.
    lines.push(`[${m}]`, `path = ${root}/modules/${m}`, "read only = no", "list = yes", "munge symlinks = no");
    if (auth) lines.push(`auth users = ${"*"}`, `secrets file = ${root}/rsyncd.secrets`, "strict modes = yes");
    lines.push("");
  }
  return lines.join("\n");
}

export async function startRsyncDaemon(options: DaemonOptions = {}): Promise<RsyncDaemon> {
  const modules = options.modules ?? ["dst"];
  const root = await mkdtemp(path.join(tmpdir(), "rtsync-rsyncd-"));
  await chmod(root, 0o755);
  const uid = options.uid ?? process.getuid?.() ?? 0;
  const gid = options.gid ?? process.getgid?.() ?? 0;
  for (const m of modules) {
    await mkdir(path.join(root, "modules", m), { recursive: true, mode: 0o755 });
    if (options.uid !== undefined) await chown(path.join(root, "modules", m), uid, gid);
  }
  const auth = options.users !== undefined && Object.keys(options.users).length > 0;
  if (auth) {
    const secrets = Object.entries(options.users ?? {}).map(([u, p]) => `${u}:${p}\n`);
    await writeFile(path.join(root, "rsyncd.secrets"), secrets.join(""), { mode: 0o600 });
  }
  const config = path.join(root, "rsyncd.conf");
  const limit = options.maxConnections === undefined ? "" : `max connections = ${options.maxConnections}\nlock file = ${root}/rsyncd.lock\n`;
  await writeFile(config, limit + renderConfig(root, modules, auth, uid, gid));
  const port = options.port ?? (await findFreePort());
  const spawnDaemon = () =>
    execa("rsync", ["--daemon", "--no-detach", `--config=${config}`, `--port=${port}`, "--address=127.0.0.1"], {
      stdin: "ignore",
      reject: false,
    });
  let child: ReturnType<typeof spawnDaemon> | undefined;
  let passwordFiles = 0;

  const start = async (): Promise<void> => {
    const spawned = spawnDaemon();
    child = spawned;
    await waitForPort(port, spawned, 10_000);
  };
  const stop = async (): Promise<void> => {
    const current = child;
    child = undefined;
    if (current?.pid === undefined) return;
    try {
      process.kill(current.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await current;
  };
  await start();
  return {
    port,
    root,
    url: (module, user) => `rsync://${user === undefined ? "" : `${user}@`}127.0.0.1:${port}/${module}`,
    path: (module, ...rel) => path.join(root, "modules", module, ...rel),
    writePasswordFile: async (password) => {
      const file = path.join(root, `client-password-${++passwordFiles}`);
      await writeFile(file, `${password}\n`, { mode: 0o600 });
      return file;
    },
    stop,
    start,
    pause: () => {
      if (child?.pid !== undefined) process.kill(child.pid, "SIGSTOP");
    },
    resume: () => {
      if (child?.pid !== undefined) process.kill(child.pid, "SIGCONT");
    },
    dispose: async () => {
      if (child?.pid !== undefined) process.kill(child.pid, "SIGCONT");
      await stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
