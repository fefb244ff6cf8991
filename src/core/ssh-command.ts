// The ssh rtsync runs under rsync for an ssh:// target (rsync -e "…"), and what its failures
// mean. Pure.
//
// - No configuration but this: -F /dev/null (no ~/.ssh/config, no /etc/ssh/ssh_config surprises),
//   no agent, no X11, BatchMode (never a prompt), only the identity file given (IdentitiesOnly).
// - The host key is pinned: StrictHostKeyChecking=yes against rtsync's own known_hosts (or the
//   manifest's knownHosts), the global one ignored; a mismatch is refused before anything is sent.
// - One master connection per lane (ControlMaster=auto + ControlPath): a run pays rsync's start,
//   not a key exchange. A master killed leaves a stale socket, which the next ssh finds refused,
//   removes and replaces (mux.c: "Stale control socket, unlinking"). ControlPersist keeps an idle
//   master for a while; ServerAliveInterval x CountMax ends one whose link froze, and rsync's
//   --timeout (the I/O watchdog) ends a run that stopped moving.

/** How ssh logs in to one target (the watch spec's `ssh` of a target). */
export interface SshSpec {
  /** The ssh client, an absolute path. */
  readonly binary: string;
  readonly identityFile: string;
  readonly port: number;
  readonly knownHostsFile: string;
  /** The socket of the lane's one master connection. */
  readonly controlPath: string;
  /** The host as the URL names it. */
  readonly host: string;
  /** Where the manifest pins the host key, for the message of a mismatch. */
  readonly pinnedAt: string;
}

export const SSH_CONTROL_PERSIST_S = 300;
export const SSH_SERVER_ALIVE_INTERVAL_S = 15;
export const SSH_SERVER_ALIVE_COUNT_MAX = 3;
export const SSH_CONNECT_TIMEOUT_S = 15;

/** ssh's options, one `-o` value each, then the port. */
export function buildSshOptions(ssh: SshSpec): string[] {
  const o = (v: string): string[] => ["-o", v];
  return [
    "-F",
    "/dev/null",
    "-i",
    ssh.identityFile,
    ...o("IdentitiesOnly=yes"),
    ...o("IdentityAgent=none"),
    ...o("StrictHostKeyChecking=yes"),
    ...o(`UserKnownHostsFile=${ssh.knownHostsFile}`),
    ...o("GlobalKnownHostsFile=/dev/null"),
    ...o("UpdateHostKeys=no"),
    ...o("BatchMode=yes"),
    ...o("ForwardAgent=no"),
    ...o("ForwardX11=no"),
    ...o("ClearAllForwardings=yes"),
    ...o("PermitLocalCommand=no"),
    ...o("ControlMaster=auto"),
    ...o(`ControlPath=${ssh.controlPath}`),
    ...o(`ControlPersist=${SSH_CONTROL_PERSIST_S}`),
    ...o(`ServerAliveInterval=${SSH_SERVER_ALIVE_INTERVAL_S}`),
    ...o(`ServerAliveCountMax=${SSH_SERVER_ALIVE_COUNT_MAX}`),
    ...o(`ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`),
    ...o("LogLevel=ERROR"),
    "-p",
    String(ssh.port),
  ];
}

/**
 * rsync's --rsh value: the ssh binary and its options joined by spaces (rsync splits it on
 * whitespace; validate allows no space or quote in a path that goes in here).
 */
export function buildRshArg(ssh: SshSpec): string {
  return `--rsh=${[ssh.binary, ...buildSshOptions(ssh)].join(" ")}`;
}

/** `ssh -O exit`: the argv (after the binary) that ends the lane's master connection. */
export function buildSshExitArgs(ssh: SshSpec): string[] {
  return ["-F", "/dev/null", "-o", `ControlPath=${ssh.controlPath}`, "-O", "exit", ssh.host.replace(/^\[|\]$/g, "")];
}

/**
 * The one sentence of a host key that does not match the pin, from ssh's stderr: which host,
 * which key it offered, where the pin is; undefined when the failure is something else.
 */
export function describeHostKeyFailure(stderr: string, ssh: Pick<SshSpec, "host" | "port" | "pinnedAt">): string | undefined {
  if (!/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for|No matching host key type found/i.test(stderr)) return undefined;
  const host = `${ssh.host}${ssh.port === 22 ? "" : ` port ${ssh.port}`}`;
  const changed = /The fingerprint for the (\S+) key sent by the remote host is\s+(\S+?)\.?\s*$/m.exec(stderr);
  const unknown = /No (\S+) host key is known for/.exec(stderr);
  const offered = changed ? `offered a ${changed[1]} key ${changed[2]}` : unknown ? `offered a ${unknown[1]} key` : "offered a key of a type the pin does not have";
  return `ssh host key of ${host} does not match the pin: the host ${offered}, which is not the key pinned at ${ssh.pinnedAt}; nothing was sent. If the host's key really changed, check the new one out of band (ssh-keyscan -p ${ssh.port} ${ssh.host.replace(/^\[|\]$/g, "")} | ssh-keygen -lf -) and update the pin`;
}

/** rrsync refused what rtsync asked of a write-only receiver (a read: verify, a deletion guard's listing). */
export function describeRrsyncRefusal(messages: readonly string[]): string | undefined {
  const line = messages.find((m) => /rrsync error: (?:reading from write-only server|a write-only server)/.test(m));
  if (line === undefined) return undefined;
  return `the receiver's rrsync refused a read (${line.replace(/\s+$/, "")}): its key may only write (rrsync -wo), so what reads the replica (verify, the deletion guard's listing) cannot run over this key`;
}
