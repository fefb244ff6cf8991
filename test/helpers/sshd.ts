import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import { findFreePort } from "./rsync-daemon.ts";
import { tmpdir } from "node:os";

// A real OpenSSH sshd on 127.0.0.1 at a free high port, for integration tests: its own
// sshd_config, host key (ssh-keygen) and authorized_keys under a temp directory; UsePAM no and
// StrictModes no (temp dirs are not root-only all the way up); /run/sshd (its privilege
// separation directory) made when missing. Stopped by pid. A login on loopback takes ~0.4 s on a
// loaded machine: tests wait for outcomes, never for times. bench/ssh.ts uses it too (no vitest here).

export interface Keypair {
  /** The private key file (0600). */
  readonly privateFile: string;
  /** The public key line ("ssh-ed25519 AAAA… comment"). */
  readonly publicLine: string;
}

export interface Sshd {
  readonly port: number;
  readonly root: string;
  /** The host's public key line as ssh-keyscan prints it after the host ("ssh-ed25519 AAAA…"). */
  readonly hostKey: string;
  /** The authorized_keys file every account's login is checked against (AuthorizedKeysFile), unless `ownKeysFile`. */
  readonly authorizedKeys: string;
  /** The LogLevel VERBOSE log (-E). */
  readonly log: string;
  readonly pid: () => number | undefined;
  /** Replaces the authorized_keys lines. */
  setAuthorizedKeys(lines: readonly string[]): Promise<void>;
  /** Stops the listener (SIGTERM by pid); with `connections`, also every session it forked (the link dies). */
  stop(options?: { readonly connections?: boolean }): Promise<void>;
  /** Starts it again on the same port with the same host key. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** A new ed25519 keypair made by ssh-keygen in `dir` (no passphrase). */
export async function makeKeypair(dir: string, name: string): Promise<Keypair> {
  const privateFile = path.join(dir, name);
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", privateFile]);
  await chmod(privateFile, 0o600);
  return { privateFile, publicLine: (await readFile(`${privateFile}.pub`, "utf8")).trim() };
}

async function waitForPort(port: number, exited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`sshd exited before listening on ${port}`);
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
  throw new Error(`sshd did not listen on ${port} within ${timeoutMs} ms`);
}

// Every process below `root` (its sessions and what they run), by /proc's ppid.
async function descendantsOf(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (stat === "") continue;
    parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
  }
  const out = new Set<number>([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (out.has(ppid) && !out.has(pid)) {
        out.add(pid);
        grew = true;
      }
    }
  }
  out.delete(root);
  return [...out];
}

export interface SshdOptions {
  /** AuthorizedKeysFile as sshd takes it (default: a file under the temp dir, for every account). */
  readonly authorizedKeysFile?: string;
}

/** Starts sshd; the caller disposes of it in a finally. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const root = await mkdtemp(path.join(tmpdir(), "rtsync-sshd-"));
  await chmod(root, 0o755);
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKeyFile = path.join(root, "ssh_host_ed25519_key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hostKeyFile]);
  const hostKey = (await readFile(`${hostKeyFile}.pub`, "utf8")).trim().split(" ").slice(0, 2).join(" ");
  const authorizedKeys = path.join(root, "authorized_keys");
  await writeFile(authorizedKeys, "", { mode: 0o600 });
  const port = await findFreePort();
  const log = path.join(root, "sshd.log");
  const config = path.join(root, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKeyFile}`,
      `PidFile ${path.join(root, "sshd.pid")}`,
      `AuthorizedKeysFile ${options.authorizedKeysFile ?? authorizedKeys}`,
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "LogLevel VERBOSE",
      "MaxStartups 50",
      "MaxSessions 50",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  let exited = true;
  const start = async (): Promise<void> => {
    const c = spawn("/usr/sbin/sshd", ["-D", "-f", config, "-E", log], { stdio: "ignore" });
    child = c;
    exited = false;
    c.once("exit", () => {
      if (child === c) exited = true;
    });
    await waitForPort(port, () => exited, 10_000);
  };
  // Sessions are the listener's children (sshd-session): by pid, from /proc.
  let sessions: number[] = [];
  const stop = async (options: { readonly connections?: boolean } = {}): Promise<void> => {
    const c = child;
    if (c === undefined || exited || c.pid === undefined) return;
    const mine = await descendantsOf(c.pid);
    sessions = [...new Set([...sessions, ...mine])];
    const gone = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(timer);
    if (options.connections === true) {
      for (const pid of sessions) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
      sessions = [];
    }
  };
  await start();
  return {
    port,
    root,
    hostKey,
    authorizedKeys,
    log,
    pid: () => (exited ? undefined : child?.pid),
    setAuthorizedKeys: (lines) => writeFile(authorizedKeys, lines.map((l) => `${l}\n`).join(""), { mode: 0o600 }),
    stop,
    start,
    dispose: async () => {
      await stop({ connections: true });
      await rm(root, { recursive: true, force: true });
    },
  };
}
