import { RtsyncError } from "../core/errors.ts";
import { findExecutable } from "../core/executables.ts";
import { manifestDir, type ResolvedManifest } from "../manifest/resolve.ts";
import { readAccounts } from "../resources/account/read.ts";
import type { Host } from "../resources/host.ts";
import type { BuildInputs } from "../resources/types.ts";
import { readPasswords } from "./passwords.ts";
import { readIdentityFileProblem } from "./ssh-files.ts";

// Everything the desired state needs beyond the manifest, read from the machine: the programs
// rtsync runs, the users' passwords, who rtsync is and rsync's `nobody` group. Only observes.

/** Users whose passwords this node needs: auth users of its daemons, target users of its watches. */
export function neededUsers(m: ResolvedManifest): Set<string> {
  const names = new Set<string>();
  for (const d of m.daemons) for (const mod of d.modules) for (const a of mod.authUsers ?? []) names.add(a.split(":")[0] ?? a);
  for (const w of m.watches) for (const t of w.targets) if (t.target.kind === "daemon" && t.target.user) names.add(t.target.user);
  return names;
}

/** The rsync binary on `pathVar`; one clear sentence when it is missing. */
export async function readRsyncPath(pathVar: string): Promise<string> {
  const rsync = await findExecutable("rsync", pathVar);
  if (rsync === undefined) throw new RtsyncError("E_RSYNC_MISSING", "system", "rsync is not installed or not on PATH; install it (apt-get install rsync) and run again");
  return rsync;
}

/** The ssh client, for ssh:// targets; one clear sentence when it is missing. */
async function readSshPath(pathVar: string): Promise<string> {
  const ssh = await findExecutable("ssh", pathVar);
  if (ssh === undefined) throw new RtsyncError("E_SSH_MISSING", "system", "ssh is not installed or not on PATH, and the manifest has ssh:// targets; install it (apt-get install openssh-client) and run again");
  return ssh;
}

// Each ssh target's identity file: owned by rtsync's user, 0600 (never opened here).
async function readSshKeys(m: ResolvedManifest, uid: number): Promise<void> {
  for (const w of m.watches) {
    for (const t of w.targets) {
      if (t.ssh === undefined) continue;
      const why = await readIdentityFileProblem(t.ssh.identityFile, uid);
      if (why !== undefined) throw new RtsyncError("E_SSH_KEY", "user", `watch ${w.name}, target ${t.key}: ${why}`);
    }
  }
}

export async function readBuildInputs(m: ResolvedManifest, host: Host, env: Readonly<Record<string, string | undefined>>): Promise<BuildInputs> {
  const pathVar = env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin";
  const needsRsync = m.daemons.length > 0 || m.watches.length > 0;
  const sshTargets = m.watches.some((w) => w.targets.some((t) => t.ssh !== undefined));
  const [rsync, inotifywait, setpriv, ssh, passwords, accounts] = await Promise.all([
    needsRsync ? readRsyncPath(pathVar) : Promise.resolve("/usr/bin/rsync"),
    m.watches.length > 0 ? findExecutable("inotifywait", pathVar) : Promise.resolve(undefined),
    // util-linux's setpriv: a watcher's children then die with it (--pdeathsig).
    m.watches.length > 0 ? findExecutable("setpriv", pathVar) : Promise.resolve(undefined),
    sshTargets ? readSshPath(pathVar) : Promise.resolve(undefined),
    readPasswords(m.users, neededUsers(m), manifestDir(m.file), env, m.confinedTo),
    readAccounts(host),
    readSshKeys(m, host.uid),
  ]);
  return {
    uid: host.uid,
    gid: host.gid,
    rootTransferOwner: { user: "nobody", group: accounts.groups.has("nogroup") ? "nogroup" : "nobody" },
    passwords,
    tools: { rsync, ...(inotifywait === undefined ? {} : { inotifywait }), ...(setpriv === undefined ? {} : { setpriv }), ...(ssh === undefined ? {} : { ssh }) },
  };
}
