import { connect } from "node:net";

// Whether a daemon target answers again: one TCP connect to its address, closed at once. What a
// lane asks while it backs off from a target that refused connections (engine/lane.ts).

/** The host and port of a daemon target's lane key (`rsync://host:port/module/path`). Pure. */
export function daemonAddressOf(key: string): { readonly host: string; readonly port: number } | undefined {
  const m = /^rsync:\/\/(\[[^\]]+\]|[^:/[\]]+):(\d+)\//.exec(key);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

/** True when a TCP connection to host:port is accepted within `timeoutMs`. */
export function acceptsConnections(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
