import { createConnection } from "node:net";

// Is an rsync daemon alive, or only its pid and its port? A SIGSTOPped or stuck rsyncd keeps both:
// the kernel completes the TCP handshake into the listen backlog, and nothing ever answers, so a
// client hangs until its own timeout. A daemon that works greets first (`@RSYNCD: 31.0` before
// reading anything, hosts allow/deny are checked only later, per module), so the probe connects,
// waits for that line and hangs up.

/**
 * Whether a daemon greets a bare connection: not with `proxy protocol` on (it waits for the
 * proxy's header first), so such a daemon is not probed. Pure.
 */
export function greetsFirst(options: Readonly<Record<string, unknown>> | undefined): boolean {
  const proxy = options?.["proxy protocol"];
  return !(proxy === true || (typeof proxy === "string" && /^(yes|true|1)$/i.test(proxy.trim())) || proxy === 1);
}

/** How long a daemon has to greet before it counts as not responding. */
export const GREETING_TIMEOUT_MS = 2000;

export type Greeting = { readonly ok: true; readonly protocol: string } | { readonly ok: false; readonly message: string };

// Where to reach a daemon bound to `address` from this host.
function connectAddress(address: string): string {
  return address === "" || address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
}

/** Connects to the daemon and reads its greeting; the failure as the operator's sentence. */
export function readDaemonGreeting(address: string, port: number, timeoutMs = GREETING_TIMEOUT_MS): Promise<Greeting> {
  return new Promise((resolve) => {
    let received = "";
    let connected = false;
    const socket = createConnection({ host: connectAddress(address), port });
    const finish = (g: Greeting): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(g);
    };
    const seconds = `${timeoutMs / 1000} s`;
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          message: connected
            ? `not responding: accepts connections on port ${port} but has not greeted within ${seconds} (no @RSYNCD: line; the process is stopped or stuck)`
            : `not responding: no connection to port ${port} within ${seconds}`,
        }),
      timeoutMs,
    );
    socket.once("connect", () => void (connected = true));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const line = /^@RSYNCD: ([^\n]*)\n/.exec(received);
      if (line) finish({ ok: true, protocol: line[1]?.trim() ?? "" });
      else if (received.length >= 64 || received.includes("\n")) finish({ ok: false, message: `not an rsync daemon on port ${port}: it greeted with ${JSON.stringify(received.slice(0, 40))}` });
    });
    socket.once("error", (e: NodeJS.ErrnoException) => finish({ ok: false, message: `not responding: cannot connect to port ${port} (${e.code ?? e.message})` }));
    socket.once("close", () => finish({ ok: false, message: `not responding: closed the connection on port ${port} without greeting` }));
  });
}
