import { lstat, readFile } from "node:fs/promises";
import { error, type RawIssue } from "../manifest/issues.ts";
import type { PathSegment } from "../manifest/positions.ts";
import type { Manifest } from "../manifest/schema.ts";
import { watchTargets } from "../manifest/target.ts";
import { RRSYNC_PATH } from "../resources/authorized-keys/index.ts";

// What ssh:// targets and sshReceivers need from this machine, checked by validate and apply: the
// identity file is a regular file of the user rtsync runs as, readable by nobody else (ssh refuses
// a key others can read, and a key someone else owns could be swapped under rtsync); a knownHosts
// file exists; rrsync is installed where a receiver runs. Only observes: the key is never opened,
// its contents never read.

/** Why the key at `path` is unfit, or undefined. Reads its metadata only. */
export async function readIdentityFileProblem(path: string, uid: number): Promise<string | undefined> {
  const s = await lstat(path).catch((e: unknown) => (e as NodeJS.ErrnoException).code ?? "error");
  if (typeof s === "string") return s === "ENOENT" ? `ssh.identityFile ${path} does not exist; make the key with ssh-keygen -t ed25519 -N "" -f ${path}` : `ssh.identityFile ${path} cannot be read (${s})`;
  if (!s.isFile()) return `ssh.identityFile ${path} is not a regular file${s.isSymbolicLink() ? " (a symlink: name the key itself)" : ""}`;
  if (s.uid !== uid) return `ssh.identityFile ${path} is owned by uid ${s.uid}, not by the user rtsync runs as (uid ${uid}); chown it`;
  if ((s.mode & 0o077) !== 0) return `ssh.identityFile ${path} has mode ${(s.mode & 0o777).toString(8).padStart(4, "0")}: others may read the key; chmod 600 it`;
  return undefined;
}

async function readExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

const runsOn = (nodes: readonly string[] | undefined, node: string | undefined): boolean => node === undefined || nodes === undefined || nodes.includes(node);

/** Every problem of this machine with the manifest's ssh settings (of `node`'s watches and receivers; all of them without one). */
export async function readSshFileProblems(m: Manifest, node: string | undefined, uid: number): Promise<RawIssue[]> {
  const out: RawIssue[] = [];
  for (const [name, w] of Object.entries(m.watches)) {
    if (!runsOn(w.nodes, node)) continue;
    for (const entry of watchTargets(w)) {
      if (entry.ssh === undefined) continue;
      const at: PathSegment[] = ["watches", name, ...entry.entryAt, "ssh"];
      const why = await readIdentityFileProblem(entry.ssh.identityFile, uid);
      if (why !== undefined) out.push(error([...at, "identityFile"], why));
      if (entry.ssh.knownHosts !== undefined && !(await readExists(entry.ssh.knownHosts))) {
        out.push(error([...at, "knownHosts"], `ssh.knownHosts ${entry.ssh.knownHosts} does not exist; write the host's key into it (ssh-keyscan, checked out of band) or pin it with hostKey`));
      }
    }
  }
  const receivers = Object.entries(m.sshReceivers).filter(([, r]) => runsOn(r.nodes, node));
  if (receivers.length > 0) {
    const text = await readFile(RRSYNC_PATH, "utf8").catch(() => undefined);
    const why =
      text === undefined
        ? `${RRSYNC_PATH} is not installed: an sshReceiver restricts its keys to rrsync; install rsync 3.2.4 or later (Debian ships rrsync with it)`
        : text.includes("-absolute")
          ? undefined
          : `${RRSYNC_PATH} has no -absolute option (rtsync's receiver lines need it, so that senders name the receiver's real path); install a newer rsync`;
    if (why !== undefined) for (const [name] of receivers) out.push(error(["sshReceivers", name], why, true));
  }
  return out;
}
