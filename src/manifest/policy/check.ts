import { error, type RawIssue } from "../issues.ts";
import { optionPathsOf } from "../option-paths.ts";
import type { PathIdentify } from "../path-identity.ts";
import type { PathSegment } from "../positions.ts";
import type { Manifest } from "../schema.ts";
import { normalisePath, within } from "../system-paths.ts";
import { parseTarget, watchTargets } from "../target.ts";
import type { NodePolicy } from "./schema.ts";

// The node policy against a manifest: every path the manifest names, its sysctl section and the
// accounts it runs as or creates. Pure (the identity of a path on disk comes in as a function).
// Any finding is an error, so a manifest stepping outside is refused as a whole.

type Path = readonly PathSegment[];

/** Every path the manifest names, with its position: what `paths:` of a policy limits. */
export function namedPaths(m: Manifest): Array<{ readonly at: Path; readonly text: string }> {
  const out: Array<{ at: Path; text: string }> = [];
  const add = (at: Path, text: string | undefined) => {
    if (text !== undefined) out.push({ at, text });
  };
  add(["stateDir"], m.stateDir);
  add(["sysctlFile"], m.sysctlFile);
  for (const [name, u] of Object.entries(m.users)) if ("file" in u.password && u.password.file.startsWith("/")) add(["users", name, "password", "file"], u.password.file);
  for (const [name, d] of Object.entries(m.daemons)) {
    for (const key of ["config", "pidFile", "lockFile", "logFile", "secretsFile"] as const) add(["daemons", name, key], d[key]);
    for (const [modName, mod] of Object.entries(d.modules)) add(["daemons", name, "modules", modName, "path"], mod.path);
  }
  for (const [name, r] of Object.entries(m.sshReceivers)) add(["sshReceivers", name, "path"], r.path);
  for (const o of optionPathsOf(m)) add(o.at, o.text);
  for (const [name, w] of Object.entries(m.watches)) {
    add(["watches", name, "source"], w.source);
    for (const entry of watchTargets(w)) {
      const t = parseTarget(entry.text);
      if (t.ok && t.target.kind === "local") add(["watches", name, ...entry.at], t.target.path);
    }
  }
  return out;
}

/** `rtsync-*` style globs: `*` any run of characters, `?` one. */
export function globMatch(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(name);
}

/** The accounts the manifest runs a daemon as (or creates), with positions. */
function namedAccounts(m: Manifest): Array<{ readonly at: Path; readonly name: string }> {
  const out: Array<{ at: Path; name: string }> = [];
  const fromOptions = (at: Path, options: Record<string, unknown> | undefined, keys: readonly string[]) => {
    for (const [k, v] of Object.entries(options ?? {})) {
      if (keys.includes(k.trim().toLowerCase().replace(/\s+/g, " ")) && (typeof v === "string" || typeof v === "number")) out.push({ at: [...at, k], name: String(v) });
    }
  };
  for (const [name, d] of Object.entries(m.daemons)) {
    for (const key of ["uid", "gid"] as const) {
      const v = d[key];
      if (v !== undefined) out.push({ at: ["daemons", name, key], name: String(v) });
    }
    fromOptions(["daemons", name, "options"], d.options, ["daemon uid", "daemon gid"]);
    for (const [modName, mod] of Object.entries(d.modules)) fromOptions(["daemons", name, "modules", modName, "options"], mod.options, ["uid", "gid"]);
  }
  // An sshReceiver's account owns its path and logs in: the policy's accounts limit it too.
  for (const [name, r] of Object.entries(m.sshReceivers)) out.push({ at: ["sshReceivers", name, "account"], name: r.account });
  return out;
}

const list = (items: readonly string[]) => `[${items.join(", ")}]`;

/** Every way `m` steps outside `p`, each at the value that does. */
export function checkPolicy(m: Manifest, p: NodePolicy, identify?: PathIdentify): RawIssue[] {
  const out: RawIssue[] = [];
  const where = (key: keyof NodePolicy["lines"]) => `${p.file}:${p.lines[key] ?? 1}`;
  const { paths, sysctl, accounts } = p.policy;
  if (paths !== undefined) {
    const prefixes = paths.map((x) => normalisePath(x).path);
    const realPrefixes = identify ? prefixes.map((x) => identify(x).path) : prefixes;
    for (const { at, text } of namedPaths(m)) {
      const normal = normalisePath(text).path;
      // Under a prefix as written and, where it exists, as it really is (a symlink cannot lead out).
      const inside = prefixes.some((x) => within(normal, x)) && (!identify || realPrefixes.some((x) => within(identify(normal).path, x)));
      if (!inside) out.push(error(at, `${text} is outside the node's policy (${where("paths")}: paths: ${list(paths)})`));
    }
  }
  if (sysctl === false) {
    if (m.sysctl !== undefined) out.push(error(["sysctl"], `sysctl is not allowed by the node's policy (${where("sysctl")}: sysctl: false)`, true));
    if (m.sysctlFile !== undefined) out.push(error(["sysctlFile"], `sysctlFile is not allowed by the node's policy (${where("sysctl")}: sysctl: false)`, true));
  }
  if (accounts !== undefined) {
    for (const { at, name } of namedAccounts(m)) {
      if (!accounts.some((g) => globMatch(g, name))) out.push(error(at, `account ${JSON.stringify(name)} is outside the node's policy (${where("accounts")}: accounts: ${list(accounts)})`));
    }
  }
  return out;
}
