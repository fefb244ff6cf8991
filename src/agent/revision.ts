import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { describeErrno } from "../core/errors.ts";
import { BeneathError, readBeneath } from "../core/open-beneath.ts";
import { MAX_MANIFEST_BYTES } from "../manifest/limits.ts";
import { readTrustProblem } from "../core/owner-trust.ts";
import { pathIdentifier } from "../manifest/path-identity.ts";
import type { NodePolicy } from "../manifest/policy/schema.ts";
import { error as issueAt, type ManifestIssue, type RawIssue } from "../manifest/issues.ts";
import { checkNodeMatch, matchNode, type NodeMatch } from "../manifest/node-match.ts";
import { parseManifest } from "../manifest/parse.ts";
import { placeInText } from "../manifest/place.ts";
import { manifestDir, resolveManifest, type ResolvedManifest } from "../manifest/resolve.ts";
import { neededUsers } from "../reconcile/inputs.ts";
import { readPasswords } from "../reconcile/passwords.ts";

// One revision of the manifest, as the agent takes it in: read, validated, resolved for this node,
// and every password it needs readable. Anything short of that refuses the revision, with each
// problem as FILE:LINE:COL, and the agent goes on running the last one it applied.

export interface Revision {
  readonly ok: true;
  /** The commit id (--git), else the sha256 of the manifest's text. */
  readonly revision: string;
  readonly resolved: ResolvedManifest;
  readonly nodeMatch: NodeMatch;
  /** The manifest's warnings, the unmatched-node one included. */
  readonly warnings: readonly ManifestIssue[];
  /** Absolute paths of the password files (`file:`) this node reads: the agent watches them. */
  readonly passwordFiles: readonly string[];
  /** The manifest's text (recorded with the applied revision for `rtsync status`). */
  readonly text: string;
}

export interface RefusedRevision {
  readonly ok: false;
  readonly revision: string;
  /** Errors (and warnings) at their line and column; empty when the file could not be read. */
  readonly issues: readonly ManifestIssue[];
  /** One sentence: why it was refused. */
  readonly message: string;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Password files the node's users are read from, as absolute paths. Pure. */
export function passwordFilesOf(m: ResolvedManifest): string[] {
  const dir = manifestDir(m.file);
  return [...neededUsers(m)].flatMap((name) => {
    const ref = m.users[name];
    return ref && "file" in ref ? [isAbsolute(ref.file) ? ref.file : join(dir, ref.file)] : [];
  });
}

// The manifest's text. In a checkout (`checkout` given) it is opened beneath it with no symlink
// followed: a committed `rtsync.yaml -> /etc/shadow` is refused unread, so none of its text can
// reach a log or /healthz.
async function readManifestText(file: string, checkout: string | undefined): Promise<string> {
  if (checkout === undefined) return readFile(file, "utf8");
  try {
    return await readBeneath(checkout, relative(checkout, file), MAX_MANIFEST_BYTES);
  } catch (e) {
    if (e instanceof BeneathError && e.code === "symlink") throw new BeneathError("symlink", e.at, `${e.at} is a symlink; rtsync reads a manifest only as a regular file in the checkout`);
    throw e;
  }
}

/**
 * Reads `file` and checks it as a revision for `node`. `commit` names the revision under --git;
 * without it, the revision is the sha256 of the text. `checkout` (--git) confines what is read
 * on the manifest's behalf to the working copy. Only observes.
 */
export async function readRevision(file: string, node: string, env: Readonly<Record<string, string | undefined>>, commit?: string, checkout?: string, policy?: NodePolicy): Promise<Revision | RefusedRevision> {
  let text: string;
  try {
    text = await readManifestText(file, checkout);
  } catch (e) {
    return { ok: false, revision: commit ?? "unreadable", issues: [], message: e instanceof BeneathError ? e.message : `cannot read manifest ${file}: ${describeErrno(e)}` };
  }
  const revision = commit ?? sha256(text);
  const parsed = parseManifest(text, file, { identify: pathIdentifier(), ...(policy ? { policy } : {}) });
  if (!parsed.ok) {
    const issues = [...parsed.errors, ...parsed.warnings].sort((a, b) => a.line - b.line || a.col - b.col);
    const n = parsed.errors.length;
    return { ok: false, revision, issues, message: `${file} is invalid (${n} error${n === 1 ? "" : "s"})` };
  }
  const plain = resolveManifest(parsed.manifest, { manifestFile: file, node, uid: process.getuid?.() ?? 0, env, homeDir: homedir() });
  const resolved: ResolvedManifest = checkout === undefined ? plain : { ...plain, confinedTo: checkout };
  const untrusted = await readTrustProblem(resolved.stateDir);
  if (untrusted) {
    const message = `stateDir ${resolved.stateDir}: ${untrusted} or choose another stateDir`;
    return { ok: false, revision, issues: placeInText(text, file, [issueAt(["stateDir"], message)]), message: "its stateDir is not root's" };
  }
  const passwords = await readPasswords(resolved.users, neededUsers(resolved), manifestDir(file), env, checkout);
  const unresolved: RawIssue[] = [...passwords].flatMap(([user, r]) => (r.ok ? [] : [issueAt(["users", user, "password"], r.message)]));
  if (unresolved.length > 0) {
    const n = unresolved.length;
    return { ok: false, revision, issues: placeInText(text, file, unresolved), message: `${n} password${n === 1 ? "" : "s"} of ${file} cannot be read` };
  }
  const unmatched = checkNodeMatch(parsed.manifest, node);
  return {
    ok: true,
    revision,
    resolved,
    nodeMatch: matchNode(parsed.manifest, node),
    warnings: [...parsed.warnings, ...placeInText(text, file, unmatched ? [unmatched] : [])],
    passwordFiles: passwordFilesOf(resolved),
    text,
  };
}
