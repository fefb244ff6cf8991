import { spawn } from "node:child_process";
import { onTestFinished } from "vitest";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { BIN, REPO } from "./cli.ts";
import { freePort } from "./manifest-fixture.ts";
import { processRunning, waitFor } from "./probes.ts";

// `rtsync agent` as a real child process: its JSON log lines collected as they come, its
// /metrics and /healthz on a free loopback port, and stopped by its pid (SIGTERM): by the caller
// (afterAll) or, with useAgentProcess, when the test ends. Nothing else is ever signalled.

export interface AgentLine {
  readonly level: string;
  readonly time: string;
  readonly msg: string;
  readonly resource?: string;
  readonly [key: string]: unknown;
}

export interface AgentProcess {
  readonly pid: number;
  readonly port: number;
  /** Every log line so far (parsed), and stdout lines that were not JSON (there must be none). */
  readonly lines: AgentLine[];
  readonly junk: string[];
  /** stderr so far. */
  stderr(): string;
  /** Resolves with the first line (from `from` on) that matches; throws after `timeoutMs`. */
  waitForLine(match: (l: AgentLine) => boolean, timeoutMs?: number, from?: number): Promise<AgentLine>;
  get(path: string): Promise<{ status: number; text: string }>;
  /** /metrics parsed by a real Prometheus text-format parser: `name{k="v",…}` -> value. */
  metrics(): Promise<Map<string, number>>;
  /** SIGTERM, then the exit code (SIGKILL after 30 s, which fails the test). */
  stop(): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/** The key of one sample in `metrics()`: the name, then the labels sorted by name. */
export function sampleKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const l = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return l ? `${name}{${l}}` : name;
}

export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of parsePrometheusTextFormat(text)) {
    for (const s of family.metrics) {
      if (s.value !== undefined) out.set(sampleKey(family.name, s.labels), Number(s.value));
      if (s.count !== undefined) out.set(sampleKey(`${family.name}_count`, s.labels), Number(s.count));
    }
  }
  return out;
}

/** Starts `rtsync agent ARGS --listen 127.0.0.1:PORT`; resolves once it serves. */
export async function startAgentProcess(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<AgentProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, "agent", ...args, "--listen", `127.0.0.1:${port}`], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("cannot spawn the agent");
  const lines: AgentLine[] = [];
  const junk: string[] = [];
  let err = "";
  let partial = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      if (p.trim() === "") continue;
      try {
        lines.push(JSON.parse(p) as AgentLine);
      } catch {
        junk.push(p);
      }
    }
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let stopped: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => {
    stopped ??= (async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    })();
    return stopped;
  };
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, text: await r.text() };
  };
  const agent: AgentProcess = {
    pid,
    port,
    lines,
    junk,
    stderr: () => err,
    exited,
    async waitForLine(match, timeoutMs = 30_000, from = 0) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.slice(from).find(match);
        if (found) return found;
        if (Date.now() > until) throw new Error(`no such agent log line after ${timeoutMs} ms; the log:\n${lines.map((l) => JSON.stringify(l)).join("\n")}\n${err}`);
        if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}): ${err}\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    get,
    metrics: async () => parseMetrics((await get("/metrics")).text),
    stop,
  };
  const up = await waitFor(async () => {
    if (child.exitCode !== null) return true;
    return get("/livez").then(
      (r) => r.status === 200,
      () => false,
    );
  }, 30_000);
  if (!up || child.exitCode !== null) throw new Error(`the agent did not start (exit ${String(child.exitCode)}): ${err}`);
  return agent;
}

/** An agent stopped when the current test finishes. */
export async function useAgentProcess(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<AgentProcess> {
  const agent = await startAgentProcess(args, env);
  onTestFinished(async () => {
    await agent.stop();
  });
  return agent;
}

/** Polls /healthz until it answers `status`; returns its JSON body. */
export async function waitForHealth(agent: AgentProcess, status: 200 | 503, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  let last = { status: 0, text: "" };
  const ok = await waitFor(async () => {
    last = await agent.get("/healthz");
    return last.status === status;
  }, timeoutMs);
  if (!ok) throw new Error(`/healthz answered ${last.status}, not ${status}, for ${timeoutMs} ms: ${last.text}`);
  return JSON.parse(last.text) as Record<string, unknown>;
}

/** Whether `pid` is still running (not a zombie). */
export { processRunning };
