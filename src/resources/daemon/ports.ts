import { readdir, readFile, readlink } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import type { Host } from "../host.ts";

// Listening TCP ports, read from /proc/net/tcp and tcp6 (observing only: nothing is bound to find
// out), who holds one, and waiting until a daemon accepts connections.

export interface Listener {
  /** The local address as text: 127.0.0.1, 0.0.0.0, ::, ::1, … */
  readonly address: string;
  readonly port: number;
  readonly inode: string;
}

// /proc/net/tcp prints IPv4 addresses as one little-endian 32-bit hex word.
function ipv4Of(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join(".");
}

// ...and IPv6 addresses as four such words.
function ipv6Of(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const text = groups.join(":");
  return text === "0:0:0:0:0:0:0:0" ? "::" : text === "0:0:0:0:0:0:0:1" ? "::1" : text;
}

/** The TCP listeners on `port` (any address). */
export async function readListeners(host: Host, port: number): Promise<Listener[]> {
  const out: Listener[] = [];
  for (const table of ["tcp", "tcp6"] as const) {
    const text = await readFile(join(host.procRoot, "net", table), "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== "0A" || !f[9]) continue;
      const [addrHex, portHex] = local.split(":");
      if (addrHex === undefined || portHex === undefined || Number.parseInt(portHex, 16) !== port) continue;
      out.push({ address: table === "tcp" ? ipv4Of(addrHex) : ipv6Of(addrHex), port, inode: f[9] });
    }
  }
  return out;
}

/** The lowest port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start, default 1024). */
export async function readUnprivilegedPortStart(host: Host): Promise<number> {
  const text = await readFile(join(host.procSysRoot, "net", "ipv4", "ip_unprivileged_port_start"), "utf8").catch(() => "1024");
  const n = Number.parseInt(text.trim(), 10);
  return Number.isFinite(n) ? n : 1024;
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

/** Whether binding `address` would collide with a listener on `listenerAddress` (same port). */
export function addressesCollide(address: string, listenerAddress: string): boolean {
  return address === listenerAddress || WILDCARDS.has(address) || WILDCARDS.has(listenerAddress);
}

/** Whether one of `pids` holds the listening socket (one of its fds is that socket). Only observes /proc. */
export async function readHeldByAny(host: Host, listener: Listener, pids: readonly number[]): Promise<boolean> {
  const socket = `socket:[${listener.inode}]`;
  const held = await Promise.all(
    pids.map(async (pid) => {
      const dir = join(host.procRoot, String(pid), "fd");
      const fds = await readdir(dir).catch(() => [] as string[]);
      const links = await Promise.all(fds.map((fd) => readlink(join(dir, fd)).catch(() => "")));
      return links.includes(socket);
    }),
  );
  return held.includes(true);
}

/** `pid 1234 (rsync --daemon …)` of the process holding a listening socket, when /proc tells. */
export async function describeListener(host: Host, listener: Listener): Promise<string> {
  const pids = (await readdir(host.procRoot).catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    const fds = await readdir(join(host.procRoot, pid, "fd")).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(join(host.procRoot, pid, "fd", fd)).catch(() => "");
      if (link !== `socket:[${listener.inode}]`) continue;
      const cmd = (await readFile(join(host.procRoot, pid, "cmdline"), "utf8").catch(() => "")).split("\0").filter(Boolean).join(" ");
      return `pid ${pid}${cmd ? ` (${cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd})` : ""}`;
    }
  }
  return `another program (listening on ${listener.address}:${listener.port})`;
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
