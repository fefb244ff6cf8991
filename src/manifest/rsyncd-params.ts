// The parameter names rsyncd.conf knows (rsyncd.conf(5) of rsync 3.x), split the way the man page
// splits them: a few are global only; every module parameter may also stand in the global section
// as a default for all modules. `options` keys are checked against these lists, because rsyncd
// only logs an unknown parameter and goes on.

/** Parameters that only the global section takes. */
export const GLOBAL_ONLY_PARAMS = [
  "address",
  "daemon chroot",
  "daemon gid",
  "daemon uid",
  "listen backlog",
  "motd file",
  "pid file",
  "port",
  "proxy protocol",
  "proxy protocol hosts",
  "socket options",
] as const;

/** Module parameters (also allowed globally, as defaults). */
export const MODULE_PARAMS = [
  "auth digest",
  "auth users",
  "charset",
  "comment",
  "dont compress",
  "early exec",
  "exclude",
  "exclude from",
  "fake super",
  "filter",
  "forward lookup",
  "gid",
  "hosts allow",
  "hosts deny",
  "ignore errors",
  "ignore nonreadable",
  "include",
  "include from",
  "incoming chmod",
  "list",
  "lock file",
  "log file",
  "log format",
  "max connections",
  "max verbosity",
  "munge symlinks",
  "name converter",
  "numeric ids",
  "open noatime",
  "outgoing chmod",
  "path",
  "post-xfer exec",
  "pre-xfer exec",
  "read only",
  "refuse options",
  "reverse lookup",
  "secrets file",
  "strict modes",
  "syslog facility",
  "syslog tag",
  "temp dir",
  "timeout",
  "transfer logging",
  "uid",
  "use chroot",
  "write only",
] as const;

/**
 * Global parameters that rsyncd reads once at start-up rather than per connection: changing one
 * of them needs a daemon restart. (Everything else is re-read on every connection.)
 */
export const STARTUP_PARAMS: ReadonlySet<string> = new Set([
  "address",
  "daemon chroot",
  "daemon gid",
  "daemon uid",
  "listen backlog",
  "pid file",
  "port",
  "proxy protocol",
  "proxy protocol hosts",
  "socket options",
]);

const GLOBAL_SET: ReadonlySet<string> = new Set([...GLOBAL_ONLY_PARAMS, ...MODULE_PARAMS]);
const MODULE_SET: ReadonlySet<string> = new Set(MODULE_PARAMS);

// Case and runs of whitespace are irrelevant in rsyncd.conf names, so compare a normalised form.
// An underscore is not a space: rsyncd ignores "read_only" ("IGNORING unknown parameter"), so it
// must not pass as "read only" here. (rsyncd also ignores all whitespace, "readonly"; rtsync
// wants the spelling of the man page.)
export function normaliseParamName(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, " ");
}

export function isGlobalParam(name: string): boolean {
  return GLOBAL_SET.has(normaliseParamName(name));
}

export function isModuleParam(name: string): boolean {
  return MODULE_SET.has(normaliseParamName(name));
}
