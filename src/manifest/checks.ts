import { cronProblem } from "../core/cron.ts";
import { error, warning, type RawIssue } from "./issues.ts";
import type { PathSegment } from "./positions.ts";
import { isGlobalParam, isModuleParam, normaliseParamName } from "./rsyncd-params.ts";
import type { Daemon, Manifest, Module, OptionValue, Watch } from "./schema.ts";
import { parseTarget } from "./target.ts";

// Semantic checks: what the schema cannot say about one value alone. Pure: (manifest) -> issues.

type Path = readonly PathSegment[];

/** rsyncd.conf parameters that have a named key in the manifest; `options` may not repeat them. */
const DAEMON_NAMED: Record<string, string> = {
  address: "address",
  port: "port",
  uid: "uid",
  gid: "gid",
  "use chroot": "useChroot",
  "max connections": "maxConnections",
  timeout: "timeout",
  "pid file": "pidFile",
  "lock file": "lockFile",
  "log file": "logFile",
  "secrets file": "secretsFile",
  "hosts allow": "hostsAllow",
  "hosts deny": "hostsDeny",
  "auth users": "modules.<name>.authUsers",
  path: "modules.<name>.path",
};
const MODULE_NAMED: Record<string, string> = {
  path: "path",
  comment: "comment",
  "read only": "readOnly",
  "write only": "writeOnly",
  list: "list",
  "ignore errors": "ignoreErrors",
  "hosts allow": "hostsAllow",
  "hosts deny": "hostsDeny",
  "auth users": "authUsers",
  "secrets file": "the daemon's secretsFile",
};

/** Host patterns that match every client: a deny list holding one of these really denies the rest. */
const CATCH_ALL = new Set(["*", "0.0.0.0/0", "::/0", "all", "0.0.0.0/0.0.0.0"]);

// Why a value cannot go into an rsyncd.conf line or a secrets file, or undefined when it can.
export function unsafeConfValue(value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return "must not contain a line break or NUL (it would start a new rsyncd.conf line)";
  if (/^[#;]/.test(value)) return "must not start with '#' or ';' (rsyncd.conf would read a comment)";
  if (value.endsWith("\\")) return "must not end with a backslash (rsyncd.conf would join the next line)";
  if (value !== value.trim()) return "must not start or end with spaces (rsyncd strips them)";
  return undefined;
}

function checkConfValue(out: RawIssue[], path: Path, value: string | number | boolean | undefined): void {
  if (typeof value !== "string") return;
  const why = unsafeConfValue(value);
  if (why) out.push(error(path, `${String(path[path.length - 1])} ${why}`));
}

function checkHosts(out: RawIssue[], path: Path, hosts: readonly string[] | undefined): void {
  hosts?.forEach((h, i) => {
    checkConfValue(out, [...path, i], h);
    if (/[\s,]/.test(h.trim())) out.push(error([...path, i], `host pattern ${JSON.stringify(h)} must be one pattern: no spaces or commas`));
  });
}

function checkOptions(
  out: RawIssue[],
  path: Path,
  options: Record<string, OptionValue> | undefined,
  level: "daemon" | "module",
): void {
  for (const [key, value] of Object.entries(options ?? {})) {
    const norm = normaliseParamName(key);
    const named = (level === "daemon" ? DAEMON_NAMED : MODULE_NAMED)[norm];
    if (named) {
      out.push(error([...path, key], `options."${key}" is set by the manifest key ${named}; use that key instead`, true));
    } else if (level === "daemon" ? !isGlobalParam(key) : !isModuleParam(key)) {
      const what = level === "module" && isGlobalParam(key) ? "is a global parameter: set it in the daemon's options" : "is not an rsyncd.conf parameter";
      out.push(error([...path, key], `options."${key}" ${what}`, true));
    } else if (/[\r\n\0=[\]]/.test(key)) {
      out.push(error([...path, key], `options key "${key}" must not contain '=', brackets or line breaks`, true));
    }
    checkConfValue(out, [...path, key], value);
  }
}

function checkDaemonValues(out: RawIssue[], path: Path, d: Daemon): void {
  for (const key of ["address", "config", "uid", "gid", "pidFile", "lockFile", "logFile", "secretsFile"] as const) {
    checkConfValue(out, [...path, key], d[key]);
  }
  checkHosts(out, [...path, "hostsAllow"], d.hostsAllow);
  checkHosts(out, [...path, "hostsDeny"], d.hostsDeny);
  checkOptions(out, [...path, "options"], d.options, "daemon");
  if (d.createAccount && typeof d.uid !== "string") {
    out.push(error([...path, "createAccount"], "createAccount needs uid to be an account name (it creates that system account)"));
  }
  checkAllowDeny(out, [...path, "hostsDeny"], `daemon "${String(path[path.length - 1])}"`, d.hostsAllow, d.hostsDeny);
}

// The classic mistake: an allow list plus a deny list that matches nobody admits everybody,
// because rsyncd lets in a host that matches neither list.
function checkAllowDeny(out: RawIssue[], at: Path, what: string, allow: readonly string[] | undefined, deny: readonly string[] | undefined): void {
  if (!allow?.length || !deny?.length || deny.some((h) => CATCH_ALL.has(h.toLowerCase()))) return;
  out.push(
    warning(
      at,
      `${what}: hostsDeny ${JSON.stringify(deny)} together with hostsAllow lets in every host that matches neither list ` +
        `(rsyncd admits such hosts); drop hostsDeny so hostsAllow alone shuts out the rest, or deny "*"`,
    ),
  );
}

function checkModule(out: RawIssue[], path: Path, name: string, m: Module, d: Daemon, userNames: ReadonlySet<string>): void {
  if (name.toLowerCase() === "global") out.push(error(path, `module name "${name}" is reserved by rsyncd.conf ([global] is the global section)`, true));
  checkConfValue(out, [...path, "path"], m.path);
  checkConfValue(out, [...path, "comment"], m.comment);
  checkHosts(out, [...path, "hostsAllow"], m.hostsAllow);
  checkHosts(out, [...path, "hostsDeny"], m.hostsDeny);
  checkOptions(out, [...path, "options"], m.options, "module");
  m.authUsers?.forEach((entry, i) => {
    const user = entry.split(":")[0] ?? entry;
    if (!userNames.has(user)) out.push(error([...path, "authUsers", i], `auth user "${user}" is not defined in users`));
  });
  const allow = m.hostsAllow ?? d.hostsAllow;
  if (m.hostsAllow || m.hostsDeny) checkAllowDeny(out, m.hostsDeny ? [...path, "hostsDeny"] : [...path, "hostsAllow"], `module "${name}"`, allow, m.hostsDeny ?? d.hostsDeny);
  const writable = m.readOnly === false || m.options?.["read only"] === false;
  if (writable && !m.authUsers?.length && !allow?.length) {
    out.push(warning(path, `module "${name}" is writable by anyone who can reach the daemon: set authUsers or hostsAllow`));
  }
  const runsAsRoot = d.uid === "root" || d.uid === 0;
  if (writable && runsAsRoot && d.useChroot !== true) {
    out.push(warning([...path.slice(0, -2), "uid"], `module "${name}" is writable while the daemon runs as root without useChroot: a client can write outside ${m.path} through symlinks`));
  }
}

// A node filter overlaps another when either runs everywhere or they share a node.
function overlaps(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return true;
  return a.some((n) => b.includes(n));
}

function checkDaemonCollisions(out: RawIssue[], daemons: Record<string, Daemon>): void {
  const seen: Array<[string, Daemon]> = [];
  for (const [name, d] of Object.entries(daemons)) {
    for (const [otherName, o] of seen) {
      if (!overlaps(d.nodes, o.nodes)) continue;
      const anyAddr = d.address === "0.0.0.0" || o.address === "0.0.0.0" || d.address === "::" || o.address === "::";
      if (d.port === o.port && (anyAddr || d.address === o.address)) {
        out.push(error(["daemons", name, "port"], `daemons "${otherName}" and "${name}" both listen on ${d.address}:${d.port} on the same node`));
      }
      for (const key of ["config", "pidFile", "secretsFile", "lockFile"] as const) {
        if (d[key] && d[key] === o[key]) {
          out.push(error(["daemons", name, key], `daemons "${otherName}" and "${name}" use the same ${key} ${d[key]} on the same node`));
        }
      }
    }
    seen.push([name, d]);
  }
}

function checkModuleNames(out: RawIssue[], path: Path, modules: Record<string, Module>): void {
  const lower = new Map<string, string>();
  for (const name of Object.keys(modules)) {
    const prev = lower.get(name.toLowerCase());
    if (prev) out.push(error([...path, name], `module names "${prev}" and "${name}" differ only in case`, true));
    else lower.set(name.toLowerCase(), name);
  }
}

function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith("/") ? parent : `${parent}/`);
}

function checkWatch(out: RawIssue[], path: Path, w: Watch, userNames: ReadonlySet<string>): void {
  const parsed = parseTarget(w.target);
  if (!parsed.ok) {
    out.push(error([...path, "target"], parsed.message));
  } else if (parsed.target.kind === "daemon" && parsed.target.user && !userNames.has(parsed.target.user)) {
    out.push(error([...path, "target"], `target user "${parsed.target.user}" is not defined in users`));
  } else if (parsed.target.kind === "local") {
    const t = parsed.target.path;
    if (within(t, w.source) || within(w.source, t)) {
      out.push(error([...path, "target"], `target ${t} and source ${w.source} overlap; a watch would copy into its own tree`));
    }
  }
  if (w.fullSync) {
    const why = cronProblem(w.fullSync.schedule);
    if (why) out.push(error([...path, "fullSync", "schedule"], `schedule "${w.fullSync.schedule}" ${why}`));
  }
  w.exclude.forEach((pattern, i) => {
    if (/[\r\n\0]/.test(pattern)) out.push(error([...path, "exclude", i], "exclude pattern must not contain a line break or NUL"));
  });
}

function checkUsers(out: RawIssue[], users: Manifest["users"]): void {
  for (const [name, u] of Object.entries(users)) {
    if ("value" in u.password) {
      const why = unsafeConfValue(u.password.value);
      if (why) out.push(error(["users", name, "password", "value"], `password ${why.replace("rsyncd.conf line", "secrets file line")}`));
      out.push(warning(["users", name, "password"], `user "${name}" has an inline password; keep it out of git with { env: VARIABLE } or { file: PATH }`));
    }
  }
}

/**
 * Every semantic error and warning of a schema-valid manifest. `userNames` are the keys of
 * `users` as written (so a user whose own entry is broken is not reported missing twice).
 */
export function checkManifest(m: Manifest, userNames: ReadonlySet<string> = new Set(Object.keys(m.users))): RawIssue[] {
  const out: RawIssue[] = [];
  checkUsers(out, m.users);
  for (const [name, d] of Object.entries(m.daemons)) {
    const path = ["daemons", name];
    checkDaemonValues(out, path, d);
    checkModuleNames(out, [...path, "modules"], d.modules);
    for (const [modName, mod] of Object.entries(d.modules)) {
      checkModule(out, [...path, "modules", modName], modName, mod, d, userNames);
    }
  }
  checkDaemonCollisions(out, m.daemons);
  for (const [name, w] of Object.entries(m.watches)) checkWatch(out, ["watches", name], w, userNames);
  return out;
}
