import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";

// The watch host's liveness socket (stateDir/host/alive.sock, 0600 in a 0700 root directory). The
// agent keeps one connection open to it and learns of the host's death the moment the kernel
// closes it (kill -9 included), instead of polling the pid every second. Nothing is ever sent.
// It is also the host's lock: a host that finds another answering on it does not start (two
// hosts would push every job twice), and binding the path is atomic.

export interface AliveSocket {
  close(): Promise<void>;
}

/** Another watch host answers on `path`: this one must not run. */
export class HostRunningError extends Error {}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

export async function listenAlive(path: string): Promise<AliveSocket> {
  if (await answers(path)) throw new HostRunningError(path);
  const peers = new Set<Socket>();
  const server = createServer((peer) => {
    peers.add(peer);
    peer.on("error", () => undefined);
    peer.on("close", () => peers.delete(peer));
    peer.resume(); // nothing is expected; whatever comes is dropped
  });
  try {
    await listen(server, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    // Taken meanwhile by a host that now answers, or left by one that died: only a stale socket is removed.
    if (await answers(path)) throw new HostRunningError(path);
    if (lstatSync(path, { throwIfNoEntry: false })?.isSocket() === true) unlinkSync(path);
    try {
      await listen(server, path);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === "EADDRINUSE") throw new HostRunningError(path);
      throw again;
    }
  }
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of peers) p.destroy();
        server.close(() => resolve());
      }),
  };
}
