import { error, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import type { Daemon, Module } from "../schema.ts";
import { accountNameProblem } from "../secrets.ts";
import { NodeIndex } from "./node-index.ts";
import { checkConfValue, checkHosts, checkOptions, unsafeConfValue } from "./values.ts";
import { checkAllowDeny, checkDaemonWarnings, checkModuleWarnings } from "./warnings.ts";

// A daemon and its modules: values, names, accounts, auth users, listen addresses (the warnings
// about who gets in: warnings.ts).

type Path = readonly PathSegment[];

export function checkDaemonValues(out: RawIssue[], path: Path, d: Daemon): void {
  for (const key of ["address", "config", "uid", "gid", "pidFile", "lockFile", "logFile", "secretsFile"] as const) {
    checkConfValue(out, [...path, key], d[key]);
  }
  checkHosts(out, [...path, "hostsAllow"], d.hostsAllow);
  checkHosts(out, [...path, "hostsDeny"], d.hostsDeny);
  checkOptions(out, [...path, "options"], d.options, "daemon");
  if (d.createAccount && typeof d.uid !== "string") {
    out.push(error([...path, "createAccount"], "createAccount needs uid to be an account name (it creates that system account)"));
  }
  checkAccount(out, [...path, "uid"], d.uid, d.createAccount ? "useradd" : undefined);
  checkAccount(out, [...path, "gid"], d.gid, d.createAccount ? "groupadd" : undefined);
  checkAllowDeny(out, [...path, "hostsDeny"], `daemon "${String(path[path.length - 1])}"`, d.hostsAllow, d.hostsDeny);
  checkDaemonWarnings(out, path, String(path[path.length - 1]), d);
}

// uid and gid strings: with createAccount they reach useradd/groupadd as names, so they must be
// names those accept (a leading '-' would be read as an option). Numbers stay numeric ids.
function checkAccount(out: RawIssue[], at: Path, id: string | number | undefined, creator: "useradd" | "groupadd" | undefined): void {
  if (typeof id !== "string" || unsafeConfValue(id)) return;
  const key = String(at[at.length - 1]);
  if (creator) {
    const why = accountNameProblem(id);
    if (why) out.push(error(at, `${key} ${JSON.stringify(id)} is not an account name ${creator} accepts: ${why}`));
  } else if (id.startsWith("-")) {
    out.push(error(at, `${key} ${JSON.stringify(id)} is not an account name (no account name starts with "-")`));
  }
}

export function checkModule(out: RawIssue[], path: Path, name: string, m: Module, d: Daemon, userNames: ReadonlySet<string>): void {
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
  checkModuleWarnings(out, path.slice(0, -2), d, path, name, m);
}

export function checkModuleNames(out: RawIssue[], path: Path, modules: Record<string, Module>): void {
  const lower = new Map<string, string>();
  for (const name of Object.keys(modules)) {
    const prev = lower.get(name.toLowerCase());
    if (prev) out.push(error([...path, name], `module names "${prev}" and "${name}" differ only in case`, true));
    else lower.set(name.toLowerCase(), name);
  }
}

const ANY_ADDRESS = new Set(["0.0.0.0", "::", ""]);

// Two daemons of one node listening on the same address and port (their paths: collisions.ts).
// Indexed by port, then by address and node, so a fleet of daemons on port 873 stays linear.
export function checkListenCollisions(out: RawIssue[], daemons: Record<string, Daemon>): void {
  const byPort = new Map<number, { any: NodeIndex<string>; all: NodeIndex<string>; byAddress: Map<string, NodeIndex<string>> }>();
  for (const [name, d] of Object.entries(daemons)) {
    let port = byPort.get(d.port);
    if (!port) byPort.set(d.port, (port = { any: new NodeIndex(), all: new NodeIndex(), byAddress: new Map() }));
    const wildcard = ANY_ADDRESS.has(d.address);
    const same = wildcard ? port.all : port.byAddress.get(d.address);
    const other = port.any.find(d.nodes, (n) => n) ?? same?.find(d.nodes, (n) => n);
    if (other !== undefined) {
      out.push(error(["daemons", name, "port"], `daemons "${other}" and "${name}" both listen on ${d.address}:${d.port} on the same node`));
    }
    port.all.add(name, d.nodes);
    if (wildcard) port.any.add(name, d.nodes);
    else {
      let index = port.byAddress.get(d.address);
      if (!index) port.byAddress.set(d.address, (index = new NodeIndex()));
      index.add(name, d.nodes);
    }
  }
}
