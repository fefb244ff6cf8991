import { error, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import { isGlobalParam, isModuleParam, normaliseParamName } from "../rsyncd-params.ts";
import type { Manifest, OptionValue } from "../schema.ts";

// Values that end up in an rsyncd.conf line: each must stay on its line and mean what it says.

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

function namedFor(level: "daemon" | "module", name: string): string | undefined {
  return (level === "daemon" ? DAEMON_NAMED : MODULE_NAMED)[name];
}

// Why a value cannot go into an rsyncd.conf line, or undefined when it can.
export function unsafeConfValue(value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return "must not contain a line break or NUL (it would start a new rsyncd.conf line)";
  if (/^[#;]/.test(value)) return "must not start with '#' or ';' (rsyncd.conf would read a comment)";
  if (value.endsWith("\\")) return "must not end with a backslash (rsyncd.conf would join the next line)";
  if (value !== value.trim()) return "must not start or end with spaces (rsyncd strips them)";
  return undefined;
}

export function checkConfValue(out: RawIssue[], path: Path, value: string | number | boolean | undefined): void {
  if (typeof value !== "string") return;
  const why = unsafeConfValue(value);
  if (why) out.push(error(path, `${String(path[path.length - 1])} ${why}`));
}

export function checkHosts(out: RawIssue[], path: Path, hosts: readonly string[] | undefined): void {
  hosts?.forEach((h, i) => {
    checkConfValue(out, [...path, i], h);
    if (/[\s,]/.test(h.trim())) out.push(error([...path, i], `host pattern ${JSON.stringify(h)} must be one pattern: no spaces or commas`));
  });
}

export function checkOptions(
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
      const spaced = norm.replace(/_/g, " ");
      const what =
        level === "module" && isGlobalParam(key)
          ? "is a global parameter: set it in the daemon's options"
          : spaced !== norm && (isGlobalParam(spaced) || isModuleParam(spaced))
            ? `is not an rsyncd.conf parameter (rsyncd would ignore it): ${namedFor(level, spaced) ? `use the manifest key ${namedFor(level, spaced)}` : `write "${spaced}"`}`
            : "is not an rsyncd.conf parameter";
      out.push(error([...path, key], `options."${key}" ${what}`, true));
    } else if (/[\r\n\0=[\]]/.test(key)) {
      out.push(error([...path, key], `options key "${key}" must not contain '=', brackets or line breaks`, true));
    }
    checkConfValue(out, [...path, key], value);
  }
}

// Every string that reaches rsyncd.conf, with its position.
function* confStrings(m: Manifest): Generator<readonly [Path, string]> {
  const hosts = function* (path: Path, list: readonly string[] | undefined) {
    for (const [i, h] of (list ?? []).entries()) yield [[...path, i], h] as const;
  };
  const options = function* (path: Path, opts: Record<string, OptionValue> | undefined) {
    for (const [k, v] of Object.entries(opts ?? {})) if (typeof v === "string") yield [[...path, k], v] as const;
  };
  for (const [name, d] of Object.entries(m.daemons)) {
    const dp = ["daemons", name];
    for (const key of ["address", "uid", "gid", "pidFile", "lockFile", "logFile", "secretsFile"] as const) {
      const v = d[key];
      if (typeof v === "string") yield [[...dp, key], v];
    }
    yield* hosts([...dp, "hostsAllow"], d.hostsAllow);
    yield* hosts([...dp, "hostsDeny"], d.hostsDeny);
    yield* options([...dp, "options"], d.options);
    for (const [modName, mod] of Object.entries(d.modules)) {
      const mp = [...dp, "modules", modName];
      yield [[...mp, "path"], mod.path];
      if (mod.comment !== undefined) yield [[...mp, "comment"], mod.comment];
      yield* hosts([...mp, "hostsAllow"], mod.hostsAllow);
      yield* hosts([...mp, "hostsDeny"], mod.hostsDeny);
      yield* options([...mp, "options"], mod.options);
    }
  }
}

/**
 * rsyncd expands %VAR% in config values from its environment: a value naming the variable that
 * holds a user's password would show it (`comment: "%RSYNC_BACKUP_PASSWORD%"` in a module list).
 */
export function checkSecretReferences(out: RawIssue[], m: Manifest): void {
  const owners = new Map<string, string>();
  for (const [user, u] of Object.entries(m.users)) if ("env" in u.password) owners.set(u.password.env, user);
  if (owners.size === 0) return;
  for (const [path, value] of confStrings(m)) {
    for (const match of value.matchAll(/%([^%]+)%/g)) {
      const user = owners.get(match[1] ?? "");
      if (user === undefined) continue;
      out.push(error(path, `${String(path[path.length - 1])} must not name %${match[1]}%: rsyncd expands %VAR% from its environment, and ${match[1]} holds the password of user "${user}"`));
    }
  }
}
