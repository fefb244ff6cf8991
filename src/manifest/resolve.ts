import { dirname, isAbsolute, join } from "node:path";
import { InternalError } from "../core/errors.ts";
import { hashText } from "../core/hash.ts";
import { daemonFiles, stateLayout, watchFiles } from "../state/layout.ts";
import type { Daemon, Manifest, Module, Password, SshReceiver, SshSettings, SysctlKey, Watch } from "./schema.ts";
import { DURATION_PATTERN } from "./schema.ts";
import { parseTarget, renderTarget, targetKey, watchTargets, type Target } from "./target.ts";

// A validated manifest with every default filled in, for one node: the plain data the reconciler
// works from. Pure: the environment (working directory included) comes in as `ResolveContext`.

export interface ResolveContext {
  /** Absolute path of the manifest file (the caller resolves it against its working directory). */
  readonly manifestFile: string;
  /** The node being converged (--node, default: hostname). */
  readonly node: string;
  /** Effective uid of the process: root gets /var/lib/rtsync as default stateDir. */
  readonly uid: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
}

export interface ResolvedModule extends Module {
  readonly name: string;
}

export interface ResolvedDaemon extends Omit<Daemon, "modules"> {
  readonly name: string;
  readonly config: string;
  readonly pidFile: string;
  readonly lockFile: string;
  readonly logFile: string;
  /** Set when any module names authUsers. */
  readonly secretsFile?: string;
  readonly modules: readonly ResolvedModule[];
  /** Where rtsync keeps this daemon's own files (default config, pid, log). */
  readonly dir: string;
}

/** One target of a watch (a lane of its watcher), with the watch's settings it does not replace. */
export interface ResolvedTarget {
  /** Its identity within the watch, the same for every spelling (target.ts: targetKey). */
  readonly key: string;
  readonly target: Target;
  /** The target as rsync takes it. */
  readonly url: string;
  /** The client password file, for a daemon target with a user. */
  readonly passwordFile?: string;
  readonly rsyncArgs: readonly string[];
  /** The cron schedule of its full resync; absent: the adaptive default (watch/engine/adaptive-schedule.ts). */
  readonly fullSyncSchedule?: string;
  readonly maxDelete?: number;
  /** An ssh:// target: how ssh logs in (watch/rsync/ssh-command.ts builds its options). */
  readonly ssh?: ResolvedSsh;
}

export interface ResolvedSsh {
  readonly identityFile: string;
  readonly port: number;
  /** The known_hosts file ssh checks the host against: rtsync's (from hostKey) or the manifest's knownHosts. */
  readonly knownHostsFile: string;
  /** The line rtsync writes into `knownHostsFile` (hostKey given), absent for a knownHosts file of the node's. */
  readonly knownHostsLine?: string;
  /** The lane's master connection's socket. */
  readonly controlPath: string;
  /** Where the pin is, for the message of a host key mismatch. */
  readonly pinnedAt: string;
}

export interface ResolvedSshReceiver extends SshReceiver {
  readonly name: string;
}

export interface ResolvedWatch extends Omit<Watch, "target" | "targets" | "delay" | "settle" | "fullSync" | "rsyncArgs" | "maxDelete"> {
  readonly name: string;
  /** One or more, in manifest order (`target:` is a list of one). */
  readonly targets: readonly ResolvedTarget[];
  readonly delayMs: number;
  readonly settleMs: number;
  /** Where this watcher keeps its status, log and password files. */
  readonly dir: string;
}

export interface ResolvedManifest {
  /** The manifest file (absolute, symlinks resolved), for messages: ownership does not depend on it. */
  readonly file: string;
  /**
   * Who owns what rtsync starts for this manifest in stateDir: the manifest's `name`, or "" for the
   * one unnamed manifest a stateDir holds. The same manifest applied from another path, checkout or
   * symlink is the same owner.
   */
  readonly owner: string;
  readonly node: string;
  readonly stateDir: string;
  readonly sysctl: ReadonlyArray<{ readonly key: SysctlKey; readonly value: number }>;
  readonly sysctlFile?: string;
  readonly users: Readonly<Record<string, Password>>;
  /** Daemons and watches of this node only. */
  readonly daemons: readonly ResolvedDaemon[];
  readonly watches: readonly ResolvedWatch[];
  /** sshReceivers of this node only. */
  readonly sshReceivers: readonly ResolvedSshReceiver[];
  /**
   * --git: the checkout the manifest came from. A file the manifest names relatively (a password
   * file) is read beneath it without following a symlink (core/open-beneath.ts), never outside it.
   */
  readonly confinedTo?: string;
}

/** Milliseconds of a manifest duration (number of ms, or "200ms" / "2s" / "1m"). */
export function durationMs(value: number | string): number {
  if (typeof value === "number") return value;
  const m = DURATION_PATTERN.exec(value);
  if (!m) throw new InternalError(`not a duration: ${value} (the schema should have refused it)`);
  const n = Number.parseInt(value, 10);
  return m[1] === "m" ? n * 60_000 : m[1] === "s" ? n * 1000 : n;
}

/** Default stateDir: /var/lib/rtsync as root, else $XDG_STATE_HOME/rtsync or ~/.local/state/rtsync. */
export function defaultStateDir(ctx: Pick<ResolveContext, "uid" | "env" | "homeDir">): string {
  if (ctx.uid === 0) return "/var/lib/rtsync";
  const xdg = ctx.env["XDG_STATE_HOME"];
  return join(xdg && xdg.startsWith("/") ? xdg : join(ctx.homeDir, ".local", "state"), "rtsync");
}

export function runsOn(nodes: readonly string[] | undefined, node: string): boolean {
  return nodes === undefined || nodes.includes(node);
}

function resolveDaemon(name: string, d: Daemon, stateDir: string): ResolvedDaemon {
  const dir = stateLayout.daemonDir(stateDir, name);
  const modules = Object.entries(d.modules).map(([modName, m]) => ({ ...m, name: modName }));
  const needsSecrets = modules.some((m) => (m.authUsers?.length ?? 0) > 0);
  const { secretsFile, ...rest } = d;
  return {
    ...rest,
    name,
    dir,
    config: d.config ?? daemonFiles.config(dir),
    pidFile: d.pidFile ?? daemonFiles.pid(dir),
    lockFile: d.lockFile ?? daemonFiles.lock(dir),
    logFile: d.logFile ?? daemonFiles.log(dir),
    ...(secretsFile || needsSecrets ? { secretsFile: secretsFile ?? daemonFiles.secrets(dir) } : {}),
    modules,
  };
}

// A watch's daemon targets may log in as different users: one password file each. One user
// keeps the file every watch had before `targets` (watches/NAME/password).
function passwordFileOf(dir: string, user: string, users: ReadonlySet<string>): string {
  return users.size === 1 ? watchFiles.password(dir) : watchFiles.password(dir, user);
}

/** How a host and port are written in known_hosts: `host`, or `[host]:port` for any port but 22. Pure. */
export function knownHostsName(host: string, port: number): string {
  const bare = host.replace(/^\[|\]$/g, "");
  return port === 22 ? bare : `[${bare}]:${port}`;
}

// An ssh target's login: the pin (rtsync's known_hosts file, or the node's), one control socket per lane.
function resolveSsh(ctx: { readonly watch: string; readonly dir: string; readonly stateDir: string; readonly file: string; readonly index: number | undefined }, target: Target, settings: SshSettings | undefined, key: string): ResolvedSsh | undefined {
  if (target.kind !== "ssh" || settings === undefined) return undefined;
  const port = target.port ?? settings.port ?? 22;
  const id = hashText(`${ctx.watch}\0${key}`).slice(0, 12);
  const entry = `watches.${ctx.watch}.${ctx.index === undefined ? "target" : `targets[${ctx.index}]`}.ssh`;
  const hostKey = settings.hostKey?.split(" ").slice(0, 2).join(" ");
  return {
    identityFile: settings.identityFile,
    port,
    knownHostsFile: hostKey === undefined ? (settings.knownHosts ?? "/dev/null") : watchFiles.knownHosts(ctx.dir, id),
    ...(hostKey === undefined ? {} : { knownHostsLine: `${knownHostsName(target.host, port)} ${hostKey}` }),
    controlPath: stateLayout.sshControl(ctx.stateDir, id),
    pinnedAt: hostKey === undefined ? `the knownHosts file ${settings.knownHosts ?? ""} (${entry}.knownHosts in ${ctx.file})` : `${entry}.hostKey in ${ctx.file}`,
  };
}

function resolveWatch(name: string, w: Watch, stateDir: string, file: string): ResolvedWatch {
  const { target: _t, targets: _ts, delay, settle, fullSync, rsyncArgs, maxDelete, ...rest } = w;
  const dir = stateLayout.watchDir(stateDir, name);
  const parsed = watchTargets(w).map((entry) => {
    const result = parseTarget(entry.text);
    if (!result.ok) throw new InternalError(`unchecked target: ${result.message}`);
    return { entry, target: result.target };
  });
  const users = new Set(parsed.flatMap(({ target }) => (target.kind === "daemon" && target.user ? [target.user] : [])));
  const targets = parsed.map(({ entry, target }): ResolvedTarget => {
    const user = target.kind === "daemon" ? target.user : undefined;
    const max = entry.maxDelete ?? maxDelete;
    const schedule = entry.fullSync?.schedule ?? fullSync?.schedule;
    const effective = target.kind === "ssh" && target.port === undefined && entry.ssh?.port !== undefined ? { ...target, port: entry.ssh.port } : target;
    const key = targetKey(effective);
    const index = entry.at[0] === "targets" && typeof entry.at[1] === "number" ? entry.at[1] : undefined;
    const ssh = resolveSsh({ watch: name, dir, stateDir, file, index }, effective, entry.ssh, key);
    return {
      key,
      target: effective,
      url: renderTarget(effective),
      ...(ssh === undefined ? {} : { ssh }),
      ...(user ? { passwordFile: passwordFileOf(dir, user, users) } : {}),
      rsyncArgs: entry.rsyncArgs ?? rsyncArgs,
      ...(schedule === undefined ? {} : { fullSyncSchedule: schedule }),
      ...(max === undefined ? {} : { maxDelete: max }),
    };
  });
  return { ...rest, name, targets, delayMs: durationMs(delay), settleMs: durationMs(settle), dir };
}

/** Fills in defaults and keeps what runs on `ctx.node`. The manifest must have passed validation. */
export function resolveManifest(m: Manifest, ctx: ResolveContext): ResolvedManifest {
  if (!isAbsolute(ctx.manifestFile)) throw new InternalError(`resolveManifest needs an absolute manifest path, got ${ctx.manifestFile}`);
  const stateDir = m.stateDir ?? defaultStateDir(ctx);
  const watches = Object.entries(m.watches).filter(([, w]) => runsOn(w.nodes, ctx.node));
  // inotify limits are for watchers: they apply on nodes that run one (or everywhere, when the
  // manifest declares no watch at all and so can only mean "set them here").
  const wantsSysctl = watches.length > 0 || Object.keys(m.watches).length === 0;
  const sysctl = Object.entries(wantsSysctl ? (m.sysctl ?? {}) : {})
    .filter((e): e is [SysctlKey, number] => typeof e[1] === "number")
    .map(([key, value]) => ({ key, value }));
  return {
    file: ctx.manifestFile,
    owner: m.name ?? "",
    node: ctx.node,
    stateDir,
    sysctl,
    ...(m.sysctlFile && wantsSysctl ? { sysctlFile: m.sysctlFile } : {}),
    users: Object.fromEntries(Object.entries(m.users).map(([name, u]) => [name, u.password])),
    daemons: Object.entries(m.daemons)
      .filter(([, d]) => runsOn(d.nodes, ctx.node))
      .map(([name, d]) => resolveDaemon(name, d, stateDir)),
    watches: watches.map(([name, w]) => resolveWatch(name, w, stateDir, ctx.manifestFile)),
    sshReceivers: Object.entries(m.sshReceivers)
      .filter(([, r]) => runsOn(r.nodes, ctx.node))
      .map(([name, r]) => ({ ...r, name })),
  };
}

/** How messages and managed files name the owner: `manifest "backup"`, or the unnamed one of a stateDir. */
export function describeOwner(m: Pick<ResolvedManifest, "owner" | "stateDir">): string {
  return m.owner === "" ? `the manifest of stateDir ${m.stateDir}` : `manifest "${m.owner}"`;
}

/** Directory that relative password files are resolved against (`file` is absolute). */
export function manifestDir(file: string): string {
  return dirname(file);
}
