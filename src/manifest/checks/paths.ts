import { error, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import type { Manifest } from "../schema.ts";
import { dirProblem, fileProblem, normalisePath, type DirRole, type FileRole } from "../system-paths.ts";
import { optionPathsOf, type OptionPath } from "../option-paths.ts";
import { parseTarget, watchTargets } from "../target.ts";

// Every path rtsync writes, owns or reads as root, against the rules of system-paths.ts.

type Path = readonly PathSegment[];

const DAEMON_FILES: ReadonlyArray<readonly ["config" | "pidFile" | "lockFile" | "logFile" | "secretsFile", string]> = [
  ["config", "/etc/rsyncd.conf"],
  ["pidFile", "/run/rsyncd.pid"],
  ["lockFile", "/run/rsyncd.lock"],
  ["logFile", "/var/log/rsyncd.log"],
  ["secretsFile", "/etc/rsyncd.secrets"],
];

const STATE_DIR: DirRole = { label: "stateDir", why: "rtsync writes and prunes its own files there", example: "/var/lib/rtsync" };
const SOURCE: DirRole = { label: "source", why: "rtsync would read all of it as root and push it to the target", example: "/srv/data", readOnly: true };
const LOCAL_TARGET: DirRole = { label: "target", why: "each full sync makes it an exact copy of the source, deleting everything else in it", example: "/srv/replica" };

function moduleRole(name: string): DirRole {
  return { label: "path", why: "rtsync would make it owned by the transfer user and clients could write there", example: `/srv/${name}` };
}

// One path value: `..` is refused (the manifest must say what it means), then the rule runs on
// the normalised form, so /tmp/x/../../../usr is judged as /usr.
function checkPath(out: RawIssue[], at: Path, text: string, problem: (normal: string) => string | undefined, label: string): void {
  if (/[\r\n\0]/.test(text)) return; // refused as a line break elsewhere; nothing sensible to judge
  const { path, dotdot } = normalisePath(text);
  if (dotdot) out.push(error(at, `${label} ${text} must not contain '..'; write the path it stands for (${path})`));
  const why = problem(path);
  if (why) out.push(error(at, why));
}

function checkDir(out: RawIssue[], at: Path, text: string, role: DirRole): void {
  checkPath(out, at, text, (p) => dirProblem(p, role), role.label);
}

function checkFile(out: RawIssue[], at: Path, text: string, role: FileRole): void {
  checkPath(out, at, text, (p) => fileProblem(p, role), role.label);
}

// A path set through raw `options` (issue 19): the same rules as the typed key it resembles.
function checkOptionPath(out: RawIssue[], o: OptionPath): void {
  const label = `options."${o.key}"`;
  if (!o.text.startsWith("/")) {
    out.push(error(o.at, `${label} must be an absolute path (start with /)`));
    return;
  }
  switch (o.kind) {
    case "write":
    case "read":
      return checkFile(out, o.at, o.text, { label, example: `/var/lib/rtsync/${o.daemon}/${o.key.trim().replace(/\s+/g, "-")}`, ...(o.kind === "read" ? { readByRsyncd: true } : {}) });
    case "dir":
      return checkDir(out, o.at, o.text, { label, why: "rsyncd would write its temporary files there", example: `/srv/${o.daemon}-tmp` });
    case "root":
      return checkDir(out, o.at, o.text, { label, why: "rsyncd would run chrooted there", example: `/srv/${o.daemon}-root`, readOnly: true });
  }
}

/** Dangerous paths anywhere in the manifest (issue 13). */
export function checkPaths(out: RawIssue[], m: Manifest): void {
  if (m.stateDir) checkDir(out, ["stateDir"], m.stateDir, STATE_DIR);
  if (m.sysctlFile) checkFile(out, ["sysctlFile"], m.sysctlFile, { label: "sysctlFile", example: "/etc/sysctl.d/90-rtsync.conf", sysctl: true });
  for (const [name, d] of Object.entries(m.daemons)) {
    for (const [key, example] of DAEMON_FILES) {
      const value = d[key];
      if (value) checkFile(out, ["daemons", name, key], value, { label: key, example });
    }
    for (const [modName, mod] of Object.entries(d.modules)) {
      checkDir(out, ["daemons", name, "modules", modName, "path"], mod.path, moduleRole(modName));
    }
  }
  for (const [name, r] of Object.entries(m.sshReceivers)) {
    checkDir(out, ["sshReceivers", name, "path"], r.path, { label: "path", why: "rtsync would make it owned by the receiver's account, and senders could write there", example: `/srv/replica/${name}` });
  }
  for (const o of optionPathsOf(m)) checkOptionPath(out, o);
  for (const [name, w] of Object.entries(m.watches)) {
    checkDir(out, ["watches", name, "source"], w.source, SOURCE);
    for (const entry of watchTargets(w)) {
      const target = parseTarget(entry.text);
      if (target.ok && target.target.kind === "local") checkDir(out, ["watches", name, ...entry.at], target.target.path, LOCAL_TARGET);
    }
  }
}
