// The agent's own flags, parsed. Pure.

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** Parses `ADDR:PORT`, `[V6]:PORT` or `PORT` (loopback). Pure. */
export function parseListen(text: string): Listen | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] || m[2] || "127.0.0.1", port };
}

/** `60s`, `5m`, `1h`, `1500ms` -> ms; undefined when it is not one. Pure. */
export function parseInterval(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const)[m[2] as "ms" | "s" | "m" | "h"];
}
