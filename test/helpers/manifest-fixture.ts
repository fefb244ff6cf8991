import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { onTestFinished } from "vitest";
import { execa, type Options } from "execa";
import { BIN, REPO, rtsync, type CliResult } from "./cli.ts";
import { readMarkedProcesses } from "../../src/resources/process/markers.ts";
import { systemHost } from "../../src/resources/host.ts";
import { processRunning, readInventory, stopPid } from "./probes.ts";

// A temp directory to apply manifests in, for the reconcile integration tests. The directory is
// 0755 (mkdtemp makes 0700, which rsyncd's transfer user `nobody` could not traverse), holds the
// manifest, the stateDir and the module directories, and is removed afterwards. Every manifest
// applied through `run` is taken down again with `rtsync down`; nothing else is ever stopped.

export interface ManifestFixture {
  /** The temp directory (mode 0755). */
  readonly dir: string;
  /** `dir/state`: the stateDir the manifests of this fixture use. */
  readonly stateDir: string;
  /** Environment added to every `run` (e.g. password variables). */
  readonly env: Record<string, string>;
  /** A path inside `dir`. */
  path(...parts: string[]): string;
  /** Writes `yaml` as `dir/name` (default rtsync.yaml) and returns its absolute path. */
  writeManifest(yaml: string, name?: string): Promise<string>;
  /** Runs the built CLI with `env` merged in; remembers applied manifests for `dispose`. */
  run(args: readonly string[], options?: Options): Promise<CliResult>;
  /** Remembers `file`'s text now as applied by someone else (an agent), so `dispose` takes it down. */
  adopt(file: string): Promise<void>;
  /** `rtsync down` for every manifest applied (each version applied), then removes `dir`. */
  dispose(): Promise<void>;
}

/** A TCP port nothing listens on right now: bind port 0 on 127.0.0.1 and give it back. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolvePort(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** A 0755 temp directory, removed by the caller. */
export async function makeTempDir(prefix = "rtsync-int-", mode = 0o755): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, mode);
  return dir;
}

// The manifest argument of `rtsync apply [MANIFEST] ...`, when it is one.
function manifestArg(args: readonly string[]): string | undefined {
  const rest = args.slice(1).filter((a, i, all) => !a.startsWith("--") && all[i - 1] !== "--node");
  return rest[0] === undefined ? undefined : isAbsolute(rest[0]) ? rest[0] : resolve(REPO, rest[0]);
}

// Whether a daemon that `file` started (by stateDir/inventory.json) still runs.
async function anyRunning(stateDir: string, file: string): Promise<boolean> {
  const inventory = await readInventory(stateDir).catch(() => undefined);
  for (const rec of Object.values(inventory?.daemons ?? {})) {
    if (rec.manifest === file && (await processRunning(rec.pid, rec.match))) return true;
  }
  return false;
}

/** A fixture whose cleanup the caller runs (e.g. from afterAll). */
export async function createFixture(options: { env?: Record<string, string> } = {}): Promise<ManifestFixture> {
  const dir = await makeTempDir();
  const stateDir = join(dir, "state");
  const env = { ...options.env };
  // manifest path -> every text it had when `apply` ran on it, in order.
  const applied = new Map<string, string[]>();
  let disposed = false;

  const run = async (args: readonly string[], opts: Options = {}): Promise<CliResult> => {
    const file = args[0] === "apply" ? manifestArg(args) : undefined;
    const text = file ? await readFile(file, "utf8").catch(() => undefined) : undefined;
    const r = await rtsync(args, { ...opts, env: { ...process.env, ...env, ...(opts.env as Record<string, string> | undefined) } });
    // Output on stdout (other than a --json error document) means apply got past loading the
    // manifest and may have started something.
    const refused = r.stdout.trimStart().startsWith('{\n  "error"');
    if (file && text !== undefined && r.stdout.trim() !== "" && !refused) applied.set(file, [...(applied.get(file) ?? []), text]);
    return r;
  };

  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    const problems: string[] = [];
    for (const [file, texts] of applied) {
      // The last version applied first; older versions only while a daemon of this manifest still
      // runs (one an apply failed to prune is declared only by the version that started it).
      for (const text of [...new Set([...texts].reverse())]) {
        await writeFile(file, text);
        const r = await rtsync(["down", file], { env: { ...process.env, ...env } });
        if (r.exitCode !== 0) problems.push(`rtsync down ${file} exited ${r.exitCode}: ${r.all}`);
        if (!(await anyRunning(stateDir, file))) break;
      }
    }
    // A daemon `down` missed is a leak: reported (the test fails) and stopped by its recorded pid,
    // only while that pid is still the daemon apply started (its command line says so).
    const inventory = await readInventory(stateDir).catch(() => undefined);
    for (const [kind, records] of [["daemon", inventory?.daemons ?? {}], ["watcher", inventory?.watchers ?? {}]] as const) {
      for (const [name, rec] of Object.entries(records)) {
        if (rec.stoppedAt !== undefined || !(await processRunning(rec.pid, rec.match))) continue;
        problems.push(`${kind} ${name} (pid ${rec.pid}) still ran after rtsync down`);
        await stopPid(rec.pid);
      }
    }
    // Any process still marked for this stateDir (a watcher apply started but never recorded, one
    // left by a test that changed the manifest's jobs) is stopped too; only the fixture's own.
    for (const p of await readMarkedProcesses(systemHost(), stateDir)) await stopPid(p.info.pid);
    await rm(dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`fixture cleanup: ${problems.join("; ")}`);
  };

  return {
    dir,
    stateDir,
    env,
    path: (...parts) => join(dir, ...parts),
    writeManifest: async (yaml, name = "rtsync.yaml") => {
      const file = join(dir, name);
      await writeFile(file, yaml);
      return file;
    },
    run,
    adopt: async (file) => {
      applied.set(file, [...(applied.get(file) ?? []), await readFile(file, "utf8")]);
    },
    dispose,
  };
}

/** A fixture for the current test, cleaned up when it finishes (pass or fail). */
export async function useFixture(options: { env?: Record<string, string> } = {}): Promise<ManifestFixture> {
  const f = await createFixture(options);
  onTestFinished(() => f.dispose());
  return f;
}

/** Runs the built CLI as nobody (uid and gid 65534, no supplementary groups), as a non-root user would. */
export async function runAsNobody(args: readonly string[], options: Options = {}): Promise<CliResult> {
  const r = await execa("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, BIN, ...args], {
    reject: false,
    stdin: "ignore",
    all: true,
    cwd: "/",
    ...options,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), all: String(r.all ?? "") };
}

export interface LoopbackOptions {
  readonly port: number;
  /** The `password:` of user demo (default: from the DEMO_PW variable). */
  readonly password?: string;
  /** More keys of daemon d1, each line indented by 4 spaces. */
  readonly daemonExtra?: string;
  /** More modules of daemon d1, each indented by 6 spaces. */
  readonly modulesExtra?: string;
  /** More top-level sections (e.g. `watches:`). */
  readonly rest?: string;
}

/**
 * The manifest most reconcile tests apply: daemon d1 on 127.0.0.1:PORT, only 127.0.0.1 allowed,
 * module `data` at dir/replica, writable by user demo.
 */
export function loopbackManifest(f: Pick<ManifestFixture, "stateDir" | "path">, o: LoopbackOptions): string {
  return `version: 1
stateDir: ${f.stateDir}
users:
  demo: { password: ${o.password ?? "{ env: DEMO_PW }"} }
daemons:
  d1:
    address: 127.0.0.1
    port: ${o.port}
    hostsAllow: [127.0.0.1]
${o.daemonExtra ?? ""}    modules:
      data: { path: ${f.path("replica")}, readOnly: false, authUsers: [demo] }
${o.modulesExtra ?? ""}${o.rest ?? ""}`;
}
