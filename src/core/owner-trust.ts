import { lstat, realpath } from "node:fs/promises";
import path from "node:path";

// Whether another local user could change what lies at a path rtsync trusts (its stateDir, the
// node policy): the path and every directory above it, as written and as resolved, must be owned
// by root (or rtsync's own user) and not writable by group or others. A sticky world-writable
// directory owned by root (/tmp) is accepted: others cannot rename or remove what root owns in
// it, so everything below it decides. Only observes.

// What is wrong with one existing file or directory, or undefined.
function problemOf(p: string, s: { uid: number; mode: number }, uid: number): string | undefined {
  if (s.uid !== 0 && s.uid !== uid) return `${p} is owned by uid ${s.uid}; make it root's (chown root ${p})`;
  const sticky = (s.mode & 0o1000) !== 0 && s.uid === 0;
  if ((s.mode & 0o022) !== 0 && !sticky) {
    return `${p} is writable by group or others (mode ${(s.mode & 0o7777).toString(8).padStart(4, "0")}); make it writable by its owner only (chmod go-w ${p})`;
  }
  return undefined;
}

// `p` and its ancestors, top down: /, /a, /a/b.
function chain(p: string): string[] {
  const out: string[] = [];
  let cur = path.resolve(p);
  for (;;) {
    out.unshift(cur);
    const up = path.dirname(cur);
    if (up === cur) return out;
    cur = up;
  }
}

// The problems of each existing entry of `p`'s chain (lstat: a symlink is judged as itself).
async function chainProblem(p: string, uid: number): Promise<string | undefined> {
  for (const entry of chain(p)) {
    const s = await lstat(entry).catch(() => undefined);
    if (s === undefined) return undefined; // the rest does not exist yet; rtsync creates it as its own
    if (s.isSymbolicLink()) continue; // a link cannot be changed, only replaced through its directory (checked)
    const why = problemOf(entry, s, uid);
    if (why) return why;
  }
  return undefined;
}

// The real path of the deepest existing ancestor of `p`.
async function realExisting(p: string): Promise<string> {
  let cur = path.resolve(p);
  for (;;) {
    const real = await realpath(cur).catch(() => undefined);
    if (real !== undefined || path.dirname(cur) === cur) return real ?? cur;
    cur = path.dirname(cur);
  }
}

/**
 * Why another user could change what lies at `p`, as "WHERE is …; FIX", or undefined when only
 * root (or `uid`) can. Judged as written and as resolved through symlinks.
 */
export async function readTrustProblem(p: string, uid: number = process.getuid?.() ?? 0): Promise<string | undefined> {
  return (await chainProblem(p, uid)) ?? (await chainProblem(await realExisting(p), uid));
}
