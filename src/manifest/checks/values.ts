import { error, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import { isGlobalParam, isModuleParam, normaliseParamName } from "../rsyncd-params.ts";
import type { OptionValue } from "../schema.ts";

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
      const what = level === "module" && isGlobalParam(key) ? "is a global parameter: set it in the daemon's options" : "is not an rsyncd.conf parameter";
      out.push(error([...path, key], `options."${key}" ${what}`, true));
    } else if (/[\r\n\0=[\]]/.test(key)) {
      out.push(error([...path, key], `options key "${key}" must not contain '=', brackets or line breaks`, true));
    }
    checkConfValue(out, [...path, key], value);
  }
}
