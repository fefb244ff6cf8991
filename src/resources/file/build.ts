import { describeOwner, type ResolvedDaemon, type ResolvedManifest, type ResolvedWatch } from "../../manifest/resolve.ts";
import { watchFiles } from "../../state/layout.ts";
import { renderWatchSpec } from "../../state/watch-spec.ts";
import { renderRsyncdConf } from "../daemon/rsyncd-conf.ts";
import { renderSecretsFile } from "../daemon/secrets-file.ts";
import { resourceId } from "../ids.ts";
import { renderSysctlConf } from "../sysctl/sysctl-conf.ts";
import type { BuildInputs, ResourceBase } from "../types.ts";
import { buildWatchSpec } from "../watcher/spec.ts";

// Every file rtsync writes: the sysctl.d file, each daemon's secrets file and rsyncd.conf, each
// watcher's spec and client password file. Pure: passwords come in with `inputs`.

export interface DesiredFile extends ResourceBase {
  readonly path: string;
  readonly purpose: string;
  readonly mode: number;
  /** Owner (the user rtsync runs as: root on a server). */
  readonly uid: number;
  readonly gid: number;
  /** `secrets`: user:password lines; `password`: a client password file. Never shown as text. */
  readonly secret?: "secrets" | "password";
  /** The content, or why it cannot be rendered (an unset password variable, …). */
  readonly content: { readonly ok: true; readonly text: string } | { readonly ok: false; readonly message: string };
}

type FileSpec = Omit<DesiredFile, "id" | "uid" | "gid">;

function secretsContent(users: readonly string[], inputs: BuildInputs): DesiredFile["content"] {
  const map = new Map<string, string>();
  for (const u of users) {
    const r = inputs.passwords.get(u);
    if (!r) return { ok: false, message: `no password resolved for user "${u}"` };
    if (!r.ok) return { ok: false, message: r.message };
    map.set(u, r.password);
  }
  return { ok: true, text: renderSecretsFile(map) };
}

// The secrets file goes first and the config depends on it: rsyncd re-reads rsyncd.conf on every
// connection, so a config naming users whose secrets could not be written would take effect
// half-way.
function daemonFiles(d: ResolvedDaemon, m: ResolvedManifest, inputs: BuildInputs): FileSpec[] {
  const out: FileSpec[] = [];
  if (d.secretsFile) {
    const users = [...new Set(d.modules.flatMap((mod) => (mod.authUsers ?? []).map((a) => a.split(":")[0] ?? a)))];
    out.push({ path: d.secretsFile, purpose: `secrets file of daemon ${d.name}`, mode: 0o600, secret: "secrets", dependsOn: [], content: secretsContent(users, inputs) });
  }
  out.push({
    path: d.config,
    purpose: `rsyncd.conf of daemon ${d.name}`,
    mode: 0o644,
    dependsOn: out.map((f) => resourceId.file(f.path)),
    content: { ok: true, text: renderRsyncdConf(d, describeOwner(m)) },
  });
  return out;
}

// The spec, and one client password file per user the watch's daemon targets log in as.
function watchFilesOf(w: ResolvedWatch, inputs: BuildInputs): FileSpec[] {
  const spec = buildWatchSpec(w, inputs.tools);
  const out: FileSpec[] = [{ path: watchFiles.spec(w.dir), purpose: `spec of watch ${w.name}`, mode: 0o600, dependsOn: [], content: { ok: true, text: renderWatchSpec(spec) } }];
  const files = new Map<string, string>();
  for (const t of w.targets) if (t.passwordFile !== undefined && t.target.kind === "daemon" && t.target.user) files.set(t.passwordFile, t.target.user);
  // The known_hosts of each ssh target whose host key the manifest pins: the one key ssh accepts.
  for (const t of w.targets) {
    if (t.ssh?.knownHostsLine === undefined) continue;
    out.push({ path: t.ssh.knownHostsFile, purpose: `pinned host key of ${t.key} for watch ${w.name}`, mode: 0o600, dependsOn: [], content: { ok: true, text: `${t.ssh.knownHostsLine}\n` } });
  }
  for (const [path, user] of files) {
    const r = inputs.passwords.get(user);
    out.push({
      path,
      purpose: files.size === 1 ? `password file of watch ${w.name}` : `password file of watch ${w.name} for user ${user}`,
      mode: 0o600,
      secret: "password",
      dependsOn: [],
      content: r?.ok ? { ok: true, text: `${r.password}\n` } : { ok: false, message: r?.message ?? `no password for user "${user}"` },
    });
  }
  return out;
}

/** The desired files of one node. A path wanted for two purposes is planned as blocked, never dropped. */
export function buildFiles(m: ResolvedManifest, inputs: BuildInputs): DesiredFile[] {
  const specs: FileSpec[] = [
    ...(m.sysctlFile && m.sysctl.length > 0
      ? [{ path: m.sysctlFile, purpose: "persisted inotify limits", mode: 0o644, dependsOn: [], content: { ok: true as const, text: renderSysctlConf(m.sysctl, describeOwner(m)) } }]
      : []),
    ...m.daemons.flatMap((d) => daemonFiles(d, m, inputs)),
    ...m.watches.flatMap((w) => watchFilesOf(w, inputs)),
  ];
  const byPath = new Map<string, DesiredFile>();
  for (const f of specs) {
    const first = byPath.get(f.path);
    if (first === undefined) {
      byPath.set(f.path, { ...f, id: resourceId.file(f.path), uid: inputs.uid, gid: inputs.gid });
      continue;
    }
    // Validation refuses this; should a manifest get here, neither purpose may win silently (a
    // secrets file written as a sysctl file would show its passwords in a diff, at 0644).
    const secret = first.secret ?? f.secret;
    byPath.set(f.path, {
      ...first,
      ...(secret === undefined ? {} : { secret }),
      content: { ok: false, message: `${f.path} is wanted both as the ${first.purpose} and as the ${f.purpose}; give each its own path` },
    });
  }
  return [...byPath.values()];
}
