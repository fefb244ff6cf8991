// Which rsync may run an rtsync daemon (issue 19). Pure: the caller reads `rsync --version`.
//
// - older than 3.4.1: refused for daemons: CVE-2024-12084..12088 (heap overflow in checksum
//   handling, info leak, path traversal, symlink escapes) let a client read or write anywhere;
// - older than 3.5.0: warned: the 2026 fixes (e.g. `hosts deny` failing open) are missing;
// - the node policy's `rsync: { acceptVersion: "3.2.7" }` acknowledges a distribution build of
//   exactly that version which backports the fixes: neither refused nor warned.

export interface RsyncVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

/** The version in `rsync --version`'s first line ("rsync  version 3.2.7  protocol version 31"). */
export function parseRsyncVersion(output: string): RsyncVersion | undefined {
  const m = /rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: `${m[1]}.${m[2]}.${m[3]}` };
}

function below(v: RsyncVersion, major: number, minor: number, patch: number): boolean {
  return v.major !== major ? v.major < major : v.minor !== minor ? v.minor < minor : v.patch < patch;
}

export type RsyncVersionVerdict =
  | { readonly level: "ok" }
  | { readonly level: "warn" | "refuse"; readonly message: string };

/** Whether this rsync may run daemons; `accept` is the version the node policy acknowledges as patched. */
export function judgeRsyncVersion(v: RsyncVersion, accept?: string): RsyncVersionVerdict {
  if (accept !== undefined && accept === v.text) return { level: "ok" };
  const ack = `if this build backports the fixes, acknowledge it in the node policy (rsync: { acceptVersion: "${v.text}" })`;
  if (below(v, 3, 4, 1)) {
    return { level: "refuse", message: `rsync ${v.text} is older than 3.4.1 and open to CVE-2024-12084..12088; rtsync runs no daemon with it: upgrade rsync, or ${ack}` };
  }
  if (below(v, 3, 5, 0)) {
    return { level: "warn", message: `rsync ${v.text} is older than 3.5.0 and lacks the 2026 fixes (e.g. hosts deny failing open): upgrade rsync, or ${ack}` };
  }
  return { level: "ok" };
}
