import { warning, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import { effectiveModule, isRoot, optionEntry } from "../effective.ts";
import type { Daemon, Module } from "../schema.ts";
import { checkSetIdChmod } from "./setid.ts";

// Warnings about who can reach a daemon and what runs as root, raised from what rsyncd will
// really do (effective.ts), whichever key or option says it.

type Path = readonly PathSegment[];

/** Host patterns that match every client (a deny list holding one really denies the rest). */
const CATCH_ALL = new Set(["*", "0.0.0.0/0", "::/0", "all", "0.0.0.0/0.0.0.0"]);

const ANY_ADDRESS = new Set(["0.0.0.0", "::", ""]);

/** rsyncd.conf parameters whose value is a command rsyncd runs on client connections. */
const EXEC_PARAMS = ["early exec", "pre-xfer exec", "post-xfer exec", "name converter"] as const;

function isCatchAll(host: string): boolean {
  return CATCH_ALL.has(host.trim().toLowerCase());
}

// hostsAllow holding a pattern that matches every host: it shuts out nobody.
function checkWildcardHosts(out: RawIssue[], path: Path, hosts: readonly string[] | undefined): void {
  hosts?.forEach((h, i) => {
    if (isCatchAll(h)) out.push(warning([...path, i], `hostsAllow ${JSON.stringify(h)} admits every host, the same as no hostsAllow: name the networks that may connect`));
  });
}

// Exec parameters run a command as root (or as `daemon uid`) for every client connection: legal,
// and always worth a word.
function checkExec(out: RawIssue[], optionsPath: Path, options: Daemon["options"], where: string, d: Daemon): void {
  const daemonUid = optionEntry(d.options, "daemon uid");
  const as = daemonUid && !isRoot(String(daemonUid[1])) ? `as the daemon uid ${JSON.stringify(String(daemonUid[1]))}` : "as root";
  const when = daemonUid && !isRoot(String(daemonUid[1])) ? "" : " (rsyncd starts it before it switches to the module's uid)";
  for (const name of EXEC_PARAMS) {
    const entry = optionEntry(options, name);
    if (!entry) continue;
    out.push(
      warning(
        [...optionsPath, entry[0]],
        `options.${JSON.stringify(entry[0])} runs ${JSON.stringify(String(entry[1]))} ${as} on every connection to ${where}${when}; keep the command, and all it reads, writable by root only`,
      ),
    );
  }
}

// The classic mistake: an allow list plus a deny list that matches nobody admits everybody,
// because rsyncd lets in a host that matches neither list.
export function checkAllowDeny(out: RawIssue[], at: Path, what: string, allow: readonly string[] | undefined, deny: readonly string[] | undefined): void {
  if (!allow?.length || !deny?.length || deny.some(isCatchAll)) return;
  out.push(
    warning(
      at,
      `${what}: hostsDeny ${JSON.stringify(deny)} together with hostsAllow lets in every host that matches neither list ` +
        `(rsyncd admits such hosts); drop hostsDeny so hostsAllow alone shuts out the rest, or deny "*"`,
    ),
  );
}

export function checkDaemonWarnings(out: RawIssue[], path: Path, name: string, d: Daemon): void {
  checkWildcardHosts(out, [...path, "hostsAllow"], d.hostsAllow);
  checkExec(out, [...path, "options"], d.options, `any module of daemon "${name}"`, d);
}

export function checkModuleWarnings(out: RawIssue[], daemonPath: Path, d: Daemon, path: Path, name: string, m: Module): void {
  checkWildcardHosts(out, [...path, "hostsAllow"], m.hostsAllow);
  checkExec(out, [...path, "options"], m.options, `module "${name}"`, d);
  const e = effectiveModule(daemonPath, d, path, m);
  const noAuth = e.authUsers.length === 0;
  const noHosts = e.hostsAllow.value.length === 0 || e.hostsAllow.value.some(isCatchAll);
  const rwUser = e.authUsers.some((u) => /:rw$/i.test(u));
  const writable = !e.readOnly.value || rwUser;
  checkSetIdChmod(out, daemonPath, d, path, name, m, writable);
  let openWritable = false;
  if (!e.readOnly.value && noAuth && noHosts) {
    const from = e.readOnly.inherited ? ` (${e.readOnly.inherited} applies to it)` : "";
    out.push(warning(path, `module "${name}" is writable by anyone who can reach the daemon${from}: set authUsers or hostsAllow`));
    openWritable = true;
  }
  if (writable && isRoot(e.uid.value) && e.useChroot.value !== true) {
    out.push(warning(e.uid.at ?? path, `module "${name}" is writable while the daemon runs as root without useChroot: a client can write outside ${m.path} through symlinks`));
  }
  // Read-only is no shield when the daemon listens on every interface (the default).
  if (!openWritable && !e.writeOnly.value && noAuth && noHosts && ANY_ADDRESS.has(d.address.trim())) {
    out.push(warning(path, `module "${name}" is readable by anyone who can reach ${d.address}:${d.port}: set authUsers or hostsAllow, or bind address to a private interface`));
  }
}
