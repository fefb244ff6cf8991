import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ResolvedDaemon, ResolvedManifest, ResolvedWatch } from "../manifest/resolve.ts";
import { renderRsyncdConf, startupLines } from "../render/rsyncd-conf.ts";
import { renderSecretsFile } from "../render/secrets-file.ts";
import { renderSysctlConf } from "../render/sysctl-conf.ts";
import type { WatchSpec } from "../state/watch-spec.ts";
import type { PasswordResult } from "./passwords.ts";
import type { Desired, DesiredAccount, DesiredDaemon, DesiredDirectory, DesiredFile, DesiredWatcher, Owner } from "./types.ts";

// Builds the desired state of one node from the resolved manifest. Pure: passwords and the
// identity rtsync runs as come in through `DesiredContext`.

export interface DesiredContext {
  /** uid rtsync runs as: owner of the files it writes. */
  readonly uid: number;
  /** Owner of module directories when the daemon sets no uid/gid and runs as root (rsync's nobody). */
  readonly rootTransferOwner?: Owner;
  readonly passwords: ReadonlyMap<string, PasswordResult>;
  /** The rsync binary to run daemons with. */
  readonly rsync: string;
}

export const sysctlId = (key: string) => `sysctl:${key}`;
export const fileId = (path: string) => `file:${path}`;
export const dirId = (path: string) => `directory:${path}`;
export const accountId = (name: string) => `account:${name}`;
export const groupId = (name: string) => `group:${name}`;
export const daemonId = (name: string) => `daemon:${name}`;
export const watcherId = (name: string) => `watcher:${name}`;

export function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/** Users whose passwords this node needs: auth users of its daemons, target users of its watches. */
export function neededUsers(m: ResolvedManifest): Set<string> {
  const names = new Set<string>();
  for (const d of m.daemons) for (const mod of d.modules) for (const a of mod.authUsers ?? []) names.add(a.split(":")[0] ?? a);
  for (const w of m.watches) if (w.target.kind === "daemon" && w.target.user) names.add(w.target.user);
  return names;
}

function accountsOf(d: ResolvedDaemon): DesiredAccount[] {
  if (!d.createAccount) return [];
  const out: DesiredAccount[] = [];
  const group = typeof d.gid === "string" ? d.gid : typeof d.uid === "string" ? d.uid : undefined;
  if (group) out.push({ id: groupId(group), kind: "group", name: group });
  if (typeof d.uid === "string") out.push({ id: accountId(d.uid), kind: "account", name: d.uid, ...(group ? { group } : {}) });
  return out;
}

function ownerOf(d: ResolvedDaemon, ctx: DesiredContext): Owner | undefined {
  if (d.uid !== undefined || d.gid !== undefined) {
    const user = String(d.uid ?? (ctx.uid === 0 ? "nobody" : ctx.uid));
    return { user, group: String(d.gid ?? d.uid ?? user) };
  }
  return ctx.uid === 0 ? ctx.rootTransferOwner : undefined;
}

function secretContent(users: readonly string[], ctx: DesiredContext): DesiredFile["content"] {
  const map = new Map<string, string>();
  for (const u of users) {
    const r = ctx.passwords.get(u);
    if (!r) return { ok: false, message: `no password resolved for user "${u}"` };
    if (!r.ok) return { ok: false, message: r.message };
    map.set(u, r.password);
  }
  return { ok: true, text: renderSecretsFile(map) };
}

function daemonResources(d: ResolvedDaemon, m: ResolvedManifest, ctx: DesiredContext) {
  const accounts = accountsOf(d);
  const accountIds = accounts.map((a) => a.id);
  const owner = ownerOf(d, ctx);
  const directories: DesiredDirectory[] = d.modules.map((mod) => ({
    id: dirId(mod.path),
    path: mod.path,
    ...(owner ? { owner } : {}),
    dependsOn: accountIds,
    purpose: `module ${mod.name} of daemon ${d.name}`,
  }));
  // The secrets file goes first and the config depends on it: rsyncd re-reads rsyncd.conf on
  // every connection, so a config naming users whose secrets could not be written would take
  // effect half-way.
  const files: DesiredFile[] = [];
  if (d.secretsFile) {
    const users = [...new Set(d.modules.flatMap((mod) => (mod.authUsers ?? []).map((a) => a.split(":")[0] ?? a)))];
    files.push({
      id: fileId(d.secretsFile),
      path: d.secretsFile,
      purpose: `secrets file of daemon ${d.name}`,
      mode: 0o600,
      uid: ctx.uid,
      secret: "secrets",
      dependsOn: [],
      content: secretContent(users, ctx),
    });
  }
  files.push({
    id: fileId(d.config),
    path: d.config,
    purpose: `rsyncd.conf of daemon ${d.name}`,
    mode: 0o644,
    uid: ctx.uid,
    dependsOn: files.map((f) => f.id),
    content: { ok: true, text: renderRsyncdConf(d, m.file) },
  });
  const argv = [ctx.rsync, "--daemon", "--no-detach", `--config=${d.config}`, `--address=${d.address}`, `--port=${d.port}`];
  const lines = startupLines(d);
  const daemon: DesiredDaemon = {
    id: daemonId(d.name),
    name: d.name,
    address: d.address,
    port: d.port,
    config: d.config,
    pidFile: d.pidFile,
    logFile: d.logFile,
    argv,
    startupLines: lines,
    startupHash: hashOf({ argv, lines }),
    dependsOn: [...files.map((f) => f.id), ...directories.map((x) => x.id), ...accountIds],
  };
  return { accounts, directories, files, daemon };
}

/** The spec a watcher process runs from (no password in it: only the password file's path). */
export function buildWatchSpec(w: ResolvedWatch): WatchSpec {
  const user = w.target.kind === "daemon" ? w.target.user : undefined;
  return {
    name: w.name,
    source: w.source.length > 1 ? w.source.replace(/\/+$/, "") : w.source,
    target: w.targetUrl,
    daemonTarget: w.target.kind === "daemon",
    ...(user ? { passwordFile: join(w.dir, "password") } : {}),
    exclude: w.exclude,
    delayMs: w.delayMs,
    watcher: w.watcher,
    rsyncArgs: w.rsyncArgs,
    initialSync: w.initialSync,
    fullSyncSchedule: w.fullSyncSchedule,
    stateDir: w.dir,
  };
}

function watcherResources(w: ResolvedWatch, ctx: DesiredContext): { files: DesiredFile[]; watcher: DesiredWatcher } {
  const spec = buildWatchSpec(w);
  const specFile = join(w.dir, "spec.json");
  const files: DesiredFile[] = [
    {
      id: fileId(specFile),
      path: specFile,
      purpose: `spec of watch ${w.name}`,
      mode: 0o644,
      uid: ctx.uid,
      dependsOn: [],
      content: { ok: true, text: `${JSON.stringify(spec, null, 2)}\n` },
    },
  ];
  if (spec.passwordFile && w.target.kind === "daemon" && w.target.user) {
    const r = ctx.passwords.get(w.target.user);
    files.push({
      id: fileId(spec.passwordFile),
      path: spec.passwordFile,
      purpose: `password file of watch ${w.name}`,
      mode: 0o600,
      uid: ctx.uid,
      secret: "password",
      dependsOn: [],
      content: r?.ok ? { ok: true, text: `${r.password}\n` } : { ok: false, message: r?.message ?? `no password for user "${w.target.user}"` },
    });
  }
  return {
    files,
    watcher: { id: watcherId(w.name), name: w.name, spec, specFile, specHash: hashOf(spec), dependsOn: files.map((f) => f.id) },
  };
}

function uniqueById<T extends { readonly id: string }>(items: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(item.id)) seen.set(item.id, item);
  return [...seen.values()];
}

export function buildDesired(m: ResolvedManifest, ctx: DesiredContext): Desired {
  const daemons = m.daemons.map((d) => daemonResources(d, m, ctx));
  const watchers = m.watches.map((w) => watcherResources(w, ctx));
  const sysctlFiles: DesiredFile[] =
    m.sysctlFile && m.sysctl.length > 0
      ? [
          {
            id: fileId(m.sysctlFile),
            path: m.sysctlFile,
            purpose: "persisted inotify limits",
            mode: 0o644,
            uid: ctx.uid,
            dependsOn: [],
            content: { ok: true, text: renderSysctlConf(m.sysctl, m.file) },
          },
        ]
      : [];
  return {
    manifest: m.file,
    node: m.node,
    stateDir: m.stateDir,
    sysctls: m.sysctl.map(({ key, value }) => ({ id: sysctlId(key), key, value })),
    accounts: uniqueById(daemons.flatMap((d) => d.accounts)),
    directories: uniqueById(daemons.flatMap((d) => d.directories)),
    files: uniqueById([...sysctlFiles, ...daemons.flatMap((d) => d.files), ...watchers.flatMap((w) => w.files)]),
    daemons: daemons.map((d) => d.daemon),
    watchers: watchers.map((w) => w.watcher),
  };
}
