import { spawn } from "node:child_process";
import { onCleanup } from "../cleanup.ts";
import { BENCH_USER, MODULE } from "../daemon.ts";
import { stopTree } from "../proc.ts";
import type { Peer, PeerEnv } from "./peer.ts";

// The classic recipe's loop, as its script writes it (05-rsync+inotify, section 5.4), run by bash.
// Two deviations, both needed on one machine: the daemon listens on a free port (`--port=N`, since
// rsync reads no port variable), and the `--timefmt/--format` of inotifywait are left out (the
// loop never uses the line it reads).

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function renderClassicScript(source: string, port: number, passwordFile: string): string {
  const src = shellQuote(`${source}/`);
  return [
    `inotifywait -mrq -e close_write,delete,create,attrib ${src} \\`,
    "| while read file",
    "do",
    `cd ${src} && rsync -aruz -R --delete ./ --timeout=100 --port=${port} ${BENCH_USER}@127.0.0.1::${MODULE} ` +
      `--password-file=${shellQuote(passwordFile)} >/dev/null 2>&1`,
    "done",
  ].join("\n");
}

export function createClassicPeer(env: PeerEnv): Peer {
  let pid: number | undefined;
  let unregister = (): void => {};
  return {
    name: "classic",
    daemonLogPath: env.daemon.logPath,
    async prepare() {},
    async start() {
      const script = renderClassicScript(env.source, env.daemon.port, env.daemon.passwordFile);
      const child = spawn("bash", ["-c", script], { stdio: "ignore", detached: true });
      if (child.pid === undefined) throw new Error("could not start bash");
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
