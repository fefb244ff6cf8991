import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { emptyInventory, readInventory as readRtsyncInventory, type Inventory } from "../../src/state/inventory.ts";
import { onCleanup } from "../cleanup.ts";
import { BENCH_USER, MODULE, findFreePort, writePasswordFile } from "../daemon.ts";
import { isAlive, stopTree } from "../proc.ts";
import type { Peer, PeerEnv } from "./peer.ts";

// rtsync driven only through its CLI (the built dist/), with a generated manifest: its own rsync
// daemon on a free port (from `daemons:`), and one watch job with the chosen `watcher` backend.
// The daemon half is applied first (untimed); the start-up clock covers `apply` of the full manifest.

export const RTSYNC_BIN = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url));
const WATCH = "push";
const DAEMON = "bench";

export type RtsyncWatcher = "inotify" | "inotifywait" | "chokidar";

export interface RtsyncManifestInput {
  readonly stateDir: string;
  readonly port: number;
  readonly replica: string;
  readonly source: string;
  readonly logFile: string;
  readonly passwordFile: string;
  readonly watcher: RtsyncWatcher;
  readonly withWatch: boolean;
}

/** The manifest as JSON (which is YAML): a loopback daemon, and optionally the watch job. */
export function renderRtsyncManifest(m: RtsyncManifestInput): string {
  const manifest = {
    version: 1,
    stateDir: m.stateDir,
    users: { [BENCH_USER]: { password: { file: m.passwordFile } } },
    daemons: {
      [DAEMON]: {
        address: "127.0.0.1",
        port: m.port,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        useChroot: false,
        logFile: m.logFile,
        hostsAllow: ["127.0.0.1"],
        modules: { [MODULE]: { path: m.replica, readOnly: false, list: false, ignoreErrors: true, authUsers: [BENCH_USER] } },
      },
    },
    ...(m.withWatch
      ? {
          watches: {
            [WATCH]: {
              source: m.source,
              target: `rsync://${BENCH_USER}@127.0.0.1:${m.port}/${MODULE}`,
              watcher: m.watcher,
              fullSync: { schedule: "0 0 1 1 *" },
            },
          },
        }
      : {}),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * The environment rtsync runs with in the benchmarks: the bench's own, without NODE_EXTRA_CA_CERTS.
 * This machine sets that variable for every process (a proxy's CA bundle), and Node reads and
 * parses the bundle at every start: `node -e 0` took 55 ms with it and 22 ms without (measured,
 * 2026-12-07), which a start-up benchmark would charge to rtsync. rtsync makes no TLS connection of
 * its own, an operator's shell or systemd unit (packaging/) has no such variable, and lsyncd does
 * not read it.
 */
export function rtsyncEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _dropped, ...rest } = process.env;
  return rest;
}

export async function runCli(args: readonly string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, [RTSYNC_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: rtsyncEnv() });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  return { code, output };
}


// The live process whose command line is `… __watch SPEC`; undefined when there is none yet.
function findWatcherBySpec(spec: string): number | undefined {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0");
    } catch {
      continue;
    }
    const i = argv.indexOf("__watch");
    if (i >= 0 && argv[i + 1] === spec) return Number(name);
  }
  return undefined;
}

export function createRtsyncPeer(env: PeerEnv, watcher: RtsyncWatcher): Peer {
  const stateDir = join(env.workDir, "state");
  const manifestPath = join(env.workDir, "rtsync.yaml");
  const logFile = join(env.workDir, "rtsyncd.log");
  const passwordFile = join(env.workDir, "bench.password");
  let port = 0;
  let watcherPid: number | undefined;
  let lastInventoryRead = 0;
  const seenPids = new Set<number>();

  // rtsync's own reader; an inventory being replaced or not written yet reads as empty.
  const readInventory = (): Promise<Inventory> => readRtsyncInventory(stateDir).catch(() => emptyInventory());
  const remember = (inv: Inventory): void => {
    for (const group of [inv.daemons, inv.watchers]) for (const e of Object.values(group)) if (e.pid > 0) seenPids.add(e.pid);
  };
  const write = (withWatch: boolean): Promise<void> =>
    writeFile(manifestPath, renderRtsyncManifest({ stateDir, port, replica: env.replica, source: env.source, logFile, passwordFile, watcher, withWatch }));
  const apply = async (): Promise<void> => {
    const r = await runCli(["apply", manifestPath]);
    remember(await readInventory());
    if (r.code !== 0) throw new Error(`rtsync apply exited ${r.code}: ${r.output.trim().split("\n").slice(-3).join(" / ")}`);
  };
  // Only pids rtsync recorded as its own, and only while they are still alive.
  const killLeftovers = async (): Promise<void> => {
    remember(await readInventory());
    for (const pid of seenPids) if (isAlive(pid)) await stopTree(pid);
  };
  let unregister = (): void => {};

  return {
    name: `rtsync-${watcher}`,
    daemonLogPath: logFile,
    toolLogPath: join(stateDir, "watches", WATCH, "log.jsonl"),
    async prepare() {
      await mkdir(stateDir, { recursive: true });
      await writePasswordFile(passwordFile);
      port = await findFreePort();
      unregister = onCleanup(async () => {
        await runCli(["down", manifestPath]);
        await killLeftovers();
      });
      await write(false);
      await apply();
    },
    async start() {
      await write(true);
      await apply();
    },
    roots() {
      // apply records the watcher's pid once it has seen it start, which is after its watches are
      // set: until then the watcher is found by its spec path on its command line.
      if (watcherPid === undefined) watcherPid = findWatcherBySpec(join(stateDir, "watches", WATCH, "spec.json"));
      if (watcherPid === undefined && Date.now() - lastInventoryRead > 20) {
        lastInventoryRead = Date.now();
        void readInventory().then((inv) => {
          remember(inv);
          // pid 0 is apply's intent record, written before the watcher is spawned.
          const pid = inv.watchers?.[WATCH]?.pid;
          if (pid !== undefined && pid > 0) watcherPid ??= pid;
        });
      }
      return watcherPid === undefined ? [] : [watcherPid];
    },
    async stop() {
      const r = await runCli(["down", manifestPath]);
      await killLeftovers();
      unregister();
      watcherPid = undefined;
      if (r.code !== 0) throw new Error(`rtsync down exited ${r.code}: ${r.output.trim()}`);
    },
  };
}
