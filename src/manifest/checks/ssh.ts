import { isIP } from "node:net";
import { error, warning, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import { SSH_PUBLIC_KEY_PATTERN, type Manifest, type SshReceiver } from "../schema.ts";
import type { Target, WatchTargetEntry } from "../target.ts";

// ssh:// targets and their settings, sshReceivers, and the clear-text warning for rsync:// and
// daemons that face the internet. Pure.

type Path = readonly PathSegment[];

/** What may stand in a path rtsync hands to ssh inside rsync's -e string (split on spaces, quotes honoured). */
const SHELL_SAFE_PATH = /^\/[A-Za-z0-9/._+@%=,-]*$/;

// An ssh target's settings: a key file, and one pin (hostKey or knownHosts); a port given twice must agree.
export function checkSshTarget(out: RawIssue[], watchPath: Path, entry: WatchTargetEntry, target: Target): void {
  const at = [...watchPath, ...entry.at];
  const sshAt = [...watchPath, ...entry.entryAt, "ssh"];
  if (target.kind !== "ssh") {
    if (entry.ssh !== undefined) out.push(error(sshAt, "ssh settings are for ssh:// targets only; remove them or write the target as ssh://user@host/absolute/path", true));
    return;
  }
  const ssh = entry.ssh;
  if (ssh === undefined) {
    out.push(
      error(at, `ssh target needs ssh settings: write it as \`targets: [{ url: ..., ssh: { identityFile: /etc/rtsync/keys/KEY, hostKey: "ssh-ed25519 AAAA..." } }]\` (rtsync pins the host key; it never trusts a key on first use)`),
    );
    return;
  }
  for (const key of ["identityFile", "knownHosts"] as const) {
    const value = ssh[key];
    if (value !== undefined && !SHELL_SAFE_PATH.test(value)) {
      out.push(error([...sshAt, key], `ssh.${key} ${JSON.stringify(value)} has characters ssh's command line would split or interpret; use letters, digits and / . _ - + @ % = , only`));
    }
  }
  if (ssh.hostKey === undefined && ssh.knownHosts === undefined) {
    out.push(error(sshAt, 'ssh settings pin no host key: add hostKey: "ssh-ed25519 AAAA..." (ssh-keyscan, checked out of band) or knownHosts: FILE', true));
  } else if (ssh.hostKey !== undefined && ssh.knownHosts !== undefined) {
    out.push(error([...sshAt, "knownHosts"], "ssh settings take hostKey or knownHosts, not both: the pin must say one thing", true));
  }
  if (ssh.hostKey !== undefined && !SSH_PUBLIC_KEY_PATTERN.test(ssh.hostKey)) {
    out.push(error([...sshAt, "hostKey"], 'ssh.hostKey must be one public key: TYPE BASE64 [comment], e.g. "ssh-ed25519 AAAAC3Nza..." as ssh-keyscan prints it after the host name'));
  }
  if (ssh.port !== undefined && target.port !== undefined && ssh.port !== target.port) {
    out.push(error([...sshAt, "port"], `ssh.port ${ssh.port} and the URL's port ${target.port} disagree; give the port once`));
  }
}

// The receiving side: a marked authorized_keys line per key, so each must be one line of one key.
export function checkSshReceiver(out: RawIssue[], path: Path, r: SshReceiver): void {
  if (!SHELL_SAFE_PATH.test(r.path) || r.path === "/") {
    out.push(error([...path, "path"], `path ${JSON.stringify(r.path)} must be a directory below / with letters, digits and / . _ - + @ % = , only (it is written into rrsync's command line)`));
  }
  if (r.authorizedKeys.length === 0) out.push(warning([...path, "authorizedKeys"], "authorizedKeys lists no key: nobody can send to this receiver"));
  r.authorizedKeys.forEach((key, i) => {
    if (!SSH_PUBLIC_KEY_PATTERN.test(key)) {
      out.push(error([...path, "authorizedKeys", i], 'authorizedKeys item must be one public key line without options: TYPE BASE64 [comment], e.g. "ssh-ed25519 AAAA... web-1"'));
    } else if (key.includes("# rtsync:")) {
      out.push(error([...path, "authorizedKeys", i], "authorizedKeys item must not contain '# rtsync:' (rtsync marks its own lines with it)"));
    }
  });
}

/** True for an address on this machine, a private range (RFC 1918, ULA, link-local, CGNAT) or any address (0.0.0.0, ::). */
export function isPrivateAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (a === "localhost" || a === "0.0.0.0" || a === "::") return true;
  if (isIP(a) === 4) {
    const [x = 0, y = 0] = a.split(".").map(Number);
    return x === 127 || x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 169 && y === 254) || (x === 100 && y >= 64 && y <= 127);
  }
  if (isIP(a) === 6) return a === "::1" || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || a.startsWith("::ffff:127.") || a.startsWith("::ffff:10.") || a.startsWith("::ffff:192.168.");
  // A host name: its addresses are not known here; only an address literal is judged.
  return true;
}

/** Bytes of a unix socket's path (sun_path less its NUL). */
const SOCKET_PATH_MAX = 107;
/** What rtsync adds to stateDir for a control socket ("/ssh/" + 12 hex), and ssh while it makes one ("." + 16). */
const CONTROL_SUFFIX = 5 + 12 + 17;

// The lanes' control sockets live in stateDir/ssh/: a stateDir too long for a socket path would
// make every ssh run fail.
export function checkControlPathRoom(out: RawIssue[], m: Manifest, hasSshTarget: boolean): void {
  if (!hasSshTarget || m.stateDir === undefined) return;
  const room = SOCKET_PATH_MAX - CONTROL_SUFFIX;
  if (Buffer.byteLength(m.stateDir) > room) {
    out.push(error(["stateDir"], `stateDir is ${Buffer.byteLength(m.stateDir)} bytes long; ssh targets keep their connection's socket under it, and a socket path holds ${SOCKET_PATH_MAX} bytes: use a stateDir of at most ${room} bytes`));
  }
}

const CLEAR_TEXT = "the rsync daemon protocol sends file data in clear text";

// rsync:// across the internet: a warning, naming ssh.
export function checkClearText(out: RawIssue[], m: Manifest, targets: ReadonlyArray<{ readonly at: Path; readonly target: Target }>): void {
  for (const { at, target } of targets) {
    if (target.kind === "daemon" && !isPrivateAddress(target.host)) {
      out.push(warning(at, `target host ${target.host} is not a loopback or private address and ${CLEAR_TEXT}; across sites use an ssh:// target (ssh://user@host/path with ssh: identityFile and hostKey) and an sshReceiver`));
    }
  }
  for (const [name, d] of Object.entries(m.daemons)) {
    if (!isPrivateAddress(d.address)) {
      out.push(warning(["daemons", name, "address"], `daemon address ${d.address} is not a loopback or private address and ${CLEAR_TEXT}; across sites receive over ssh instead (sshReceivers:)`));
    }
  }
}
