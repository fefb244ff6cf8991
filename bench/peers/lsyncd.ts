import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { onCleanup } from "../cleanup.ts";
import { BENCH_USER, MODULE } from "../daemon.ts";
import { stopTree } from "../proc.ts";
import type { Peer, PeerEnv } from "./peer.ts";

// lsyncd with its stock `default.rsync` layer pointed at the daemon: `delay` 1 s or 0 (the
// smallest it accepts), archive mode, the daemon's password file and port. Several daemons: one
// `sync{}` block each in the one process (how lsyncd keeps several replicas).

export function lsyncdVersion(): string | undefined {
  const r = spawnSync("lsyncd", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return undefined;
  return /Version:\s*(\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim();
}

const lua = (s: string): string => JSON.stringify(s);

type DaemonAddress = Pick<PeerEnv["daemon"], "port" | "passwordFile">;

export function renderLsyncdConfig(env: PeerEnv, delay: number, daemons: readonly DaemonAddress[] = [env.daemon]): string {
  const dir = env.workDir;
  const sync = (d: DaemonAddress): string[] => [
    "sync {",
    "  default.rsync,",
    `  source = ${lua(env.source)},`,
    `  target = ${lua(`${BENCH_USER}@127.0.0.1::${MODULE}`)},`,
    `  delay = ${delay},`,
    "  rsync = {",
    "    archive = true,",
    `    password_file = ${lua(d.passwordFile)},`,
    `    _extra = { ${lua(`--port=${d.port}`)} },`,
    "  },",
    "}",
  ];
  return [
    "settings {",
    `  logfile = ${lua(join(dir, "lsyncd.log"))},`,
    `  statusFile = ${lua(join(dir, "lsyncd.status"))},`,
    "  nodaemon = true,",
    "}",
    ...daemons.flatMap(sync),
    "",
  ].join("\n");
}

export function createLsyncdPeer(env: PeerEnv, delay: 0 | 1, daemons: readonly DaemonAddress[] = [env.daemon]): Peer {
  let pid: number | undefined;
  let unregister = (): void => {};
  const config = join(env.workDir, "lsyncd.lua");
  return {
    name: delay === 0 ? "lsyncd0" : "lsyncd1",
    daemonLogPath: env.daemon.logPath,
    async prepare() {
      await writeFile(config, renderLsyncdConfig(env, delay, daemons));
    },
    async start() {
      const child = spawn("lsyncd", [config], { stdio: "ignore", detached: true });
      if (child.pid === undefined) throw new Error("could not start lsyncd");
      const p = child.pid;
      pid = p;
      child.unref();
      unregister = onCleanup(() => stopTree(p, { group: true }));
    },
    roots: () => (pid === undefined ? [] : [pid]),
    async stop() {
      if (pid !== undefined) await stopTree(pid, { group: true });
      unregister();
      pid = undefined;
    },
  };
}
