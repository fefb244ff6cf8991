import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { messageOf, RtsyncError } from "../core/errors.ts";
import type { Listen } from "./flags.ts";

// The agent's HTTP endpoint (--listen): /metrics (Prometheus), /healthz (200 when this node is
// converged and healthy, else 503, with a JSON body naming each problem) and /livez (200 while the
// agent's loop answers: for a liveness probe, which must not restart the agent because a target
// is down). GET only, nothing else.
//
// Bounded, so that connections nobody closes cannot take the agent's file descriptors (20,000 idle
// connections made it hit EMFILE, and reconcile failed): at most MAX_CONNECTIONS are kept, a new
// connection beyond that closes the oldest one that has no request in flight (so a probe still
// gets in during a flood of idle connections), a connection idle for IDLE_MS is closed, and the
// headers and the whole request have timeouts.

const MAX_CONNECTIONS = 128;
const IDLE_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
// How often Node looks for connections past those timeouts: a wake-up of the agent each time, at
// rest too (every second cost ~60 wake-ups a minute), so a slow client is cut 5 to 10 s in.
const CHECK_EVERY_MS = HEADERS_TIMEOUT_MS;

/** Keeps at most `max` sockets: a new one beyond that closes the oldest that is not busy. */
function capConnections(server: Server, max: number): { busy(socket: Socket, busy: boolean): void } {
  const open = new Set<Socket>(); // in the order they came
  const busy = new WeakSet<Socket>();
  server.on("connection", (socket: Socket) => {
    if (open.size >= max) {
      const idle = [...open].find((s) => !busy.has(s));
      (idle ?? socket).destroy();
      if (idle === undefined) return; // every kept connection is serving a request: refuse this one
    }
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  return { busy: (socket, on) => (on ? busy.add(socket) : busy.delete(socket)) };
}


export interface HttpHandlers {
  metrics(): Promise<{ readonly body: string; readonly contentType: string }>;
  health(): Promise<{ readonly ok: boolean; readonly body: unknown }>;
}

export interface HttpServer {
  /** host:port it listens on (the port the OS chose for port 0). */
  readonly address: string;
  close(): Promise<void>;
}


export async function startHttpServer(listen: Listen, handlers: HttpHandlers): Promise<HttpServer> {
  const server: Server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: CHECK_EVERY_MS }, (req, res) => {
    cap.busy(req.socket, true);
    res.once("close", () => cap.busy(req.socket, false));
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, contentType: string, body: string): void => {
      res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain; charset=utf-8", "method not allowed\n");
    const route = async (): Promise<void> => {
      switch (path) {
        case "/metrics": {
          const m = await handlers.metrics();
          return send(200, m.contentType, m.body);
        }
        case "/healthz": {
          const h = await handlers.health();
          return send(h.ok ? 200 : 503, "application/json", `${JSON.stringify(h.body, null, 2)}\n`);
        }
        case "/livez":
          return send(200, "text/plain; charset=utf-8", "ok\n");
        default:
          return send(404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /livez\n");
      }
    };
    route().catch((e: unknown) => send(500, "text/plain; charset=utf-8", `internal error: ${messageOf(e)}\n`));
  });
  const cap = capConnections(server, MAX_CONNECTIONS);
  server.keepAliveTimeout = 5000;
  server.setTimeout(IDLE_MS); // an idle socket (no byte ever sent, or between requests) is closed
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new RtsyncError("E_AGENT", "user", `cannot listen on ${listen.host}:${listen.port}: ${e.code === "EADDRINUSE" ? "the address is in use" : e.code === "EACCES" ? "permission denied" : e.message}`, { cause: e })),
    );
    server.listen({ host: listen.host, port: listen.port, exclusive: true }, resolve);
  });
  const a = server.address();
  const address = typeof a === "object" && a ? `${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}` : `${listen.host}:${listen.port}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
