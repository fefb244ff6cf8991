import { readdir, readFile, readlink } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import type { Host } from "./host.ts";

// Listening ports: is one free, who holds it, and waiting until a daemon accepts connections.

/** True when nothing listens on address:port (we could bind it ourselves). */
export function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

// The socket inodes listening on `port` (any address), from /proc/net/tcp and tcp6.
async function listeningInodes(host: Host, port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ["tcp", "tcp6"]) {
    const text = await readFile(join(host.procRoot, "net", table), "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== "0A") continue;
      if (Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** `pid 1234 (rsync --daemon …)` of the process listening on `port`, when /proc tells. */
export async function describePortHolder(host: Host, port: number): Promise<string | undefined> {
  const inodes = await listeningInodes(host, port);
  if (inodes.size === 0) return undefined;
  const pids = (await readdir(host.procRoot).catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    const fds = await readdir(join(host.procRoot, pid, "fd")).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(join(host.procRoot, pid, "fd", fd)).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m?.[1] && inodes.has(m[1])) {
        const cmd = (await readFile(join(host.procRoot, pid, "cmdline"), "utf8").catch(() => "")).split("\0").filter(Boolean).join(" ");
        return `pid ${pid}${cmd ? ` (${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd})` : ""}`;
      }
    }
  }
  return undefined;
}

/** Resolves true once address:port accepts a TCP connection, false after `timeoutMs`. */
export async function waitForListen(address: string, port: number, timeoutMs: number, stillAlive: () => boolean): Promise<boolean> {
  const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && stillAlive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host, port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
