import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { createServer, type Socket } from "node:net";

// The watch host's liveness socket (stateDir/host/alive.sock, 0600 in a 0700 root directory): the
// agent keeps one connection open to it and learns of the host's death the moment the kernel
// closes it (kill -9 included), instead of polling the pid every second. Nothing is ever sent.

export interface AliveSocket {
  close(): Promise<void>;
}

export async function listenAlive(path: string): Promise<AliveSocket> {
  // A socket left by a host that died (the caller made sure no other host runs): removed. Anything else there is left alone, and listen fails.
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket() === true) unlinkSync(path);
  const peers = new Set<Socket>();
  const server = createServer((peer) => {
    peers.add(peer);
    peer.on("error", () => undefined);
    peer.on("close", () => peers.delete(peer));
    peer.resume(); // nothing is expected; whatever comes is dropped
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of peers) p.destroy();
        server.close(() => resolve());
      }),
  };
}
