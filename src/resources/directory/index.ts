import { lstat } from "node:fs/promises";
import { openDirectoryWalk, WalkRefused } from "../../core/dir-walk.ts";
import { ApplyError, describeErrno, errnoOf } from "../../core/errors.ts";
import { readPathHazard } from "../../core/path-safety.ts";
import type { ResolvedDaemon } from "../../manifest/resolve.ts";
import { accountGroupOf } from "../account/index.ts";
import { groupIdOf, ownerName, userIdOf } from "../account/read.ts";
import { resourceId } from "../ids.ts";
import type { BuildInputs, ChangeBase, PlanContext, ResourceBase, ResourceKind } from "../types.ts";

// A module directory: created when missing (mkdir -p, 0755 so the transfer user can traverse the
// parents), owned by the daemon's uid:gid. Ownership is set on the opened directory (O_NOFOLLOW),
// never by path, so a symlink swapped in after the plan cannot redirect a chown.

export interface Owner {
  readonly user: string;
  readonly group: string;
}

export interface DesiredDirectory extends ResourceBase {
  readonly path: string;
  /** Managed owner, or undefined when rtsync leaves ownership alone. */
  readonly owner?: Owner;
  /** Who needs it, e.g. `module backup of daemon backup-server`. */
  readonly purpose: string;
}

export type DirectoryActual = (
  | { readonly exists: false }
  | { readonly exists: true; readonly kind: "directory" | "symlink" | "other"; readonly uid: number; readonly gid: number }
) & {
  /** Why creating or chowning it could follow a link rtsync did not expect (core/path-safety.ts). */
  readonly hazard?: string;
};

export interface DirectoryChange extends ChangeBase {
  readonly kind: "directory";
  readonly want: DesiredDirectory;
  /** The directory exists and only its owner changes. */
  readonly chownOnly: boolean;
}

// The owner rsyncd will write as: uid/gid when set, else (as root) rsync's nobody.
function ownerOf(d: ResolvedDaemon, inputs: BuildInputs): Owner | undefined {
  if (d.uid !== undefined || d.gid !== undefined) {
    const user = String(d.uid ?? (inputs.uid === 0 ? "nobody" : inputs.uid));
    return { user, group: String(d.gid ?? d.uid ?? user) };
  }
  return inputs.uid === 0 ? inputs.rootTransferOwner : undefined;
}

function accountIdsOf(d: ResolvedDaemon): string[] {
  if (!d.createAccount) return [];
  const group = accountGroupOf(d);
  return [...(group ? [resourceId.group(group)] : []), ...(typeof d.uid === "string" ? [resourceId.account(d.uid)] : [])];
}

// Whether the desired owner exists now or will once this plan created it.
function ownerKnown(ctx: PlanContext, name: string, kind: "user" | "group"): boolean {
  if (/^\d+$/.test(name)) return true;
  return kind === "user" ? ctx.accounts.users.has(name) || ctx.creates.users.has(name) : ctx.accounts.groups.has(name) || ctx.creates.groups.has(name);
}

export const directoryKind: ResourceKind<DesiredDirectory, DirectoryActual, DirectoryChange> = {
  build: (m, inputs) => {
    const seen = new Map<string, DesiredDirectory>();
    for (const d of m.daemons) {
      const owner = ownerOf(d, inputs);
      for (const mod of d.modules) {
        if (seen.has(mod.path)) continue;
        seen.set(mod.path, {
          id: resourceId.directory(mod.path),
          path: mod.path,
          ...(owner ? { owner } : {}),
          dependsOn: accountIdsOf(d),
          purpose: `module ${mod.name} of daemon ${d.name}`,
        });
      }
    }
    // An sshReceiver's path: the account writes into it through rrsync.
    for (const r of m.sshReceivers) {
      if (seen.has(r.path)) continue;
      seen.set(r.path, {
        id: resourceId.directory(r.path),
        path: r.path,
        owner: { user: r.account, group: r.account },
        dependsOn: r.createAccount ? [resourceId.account(r.account)] : [],
        purpose: `sshReceiver ${r.name}`,
      });
    }
    return [...seen.values()];
  },

  read: async (dir, { host }) => {
    const hazard = await readPathHazard(dir.path, host.uid);
    const around = hazard === undefined ? {} : { hazard };
    try {
      const s = await lstat(dir.path);
      return { exists: true, kind: s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "directory" : "other", uid: s.uid, gid: s.gid, ...around };
    } catch (e) {
      if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return { exists: false, ...around };
      throw e;
    }
  },

  plan: (dir, have, ctx) => {
    const owner = dir.owner;
    const base = { id: dir.id, kind: "directory" as const, want: dir, dependsOn: dir.dependsOn, details: [] };
    const missing = owner ? [!ownerKnown(ctx, owner.user, "user") && `user ${owner.user}`, !ownerKnown(ctx, owner.group, "group") && `group ${owner.group}`].filter((x) => x !== false) : [];
    const blockedOwner = missing.length > 0 ? { blocked: `${missing.join(" and ")} does not exist: create it, or set createAccount: true on the daemon` } : {};
    const ownedBy = owner ? ` owned by ${owner.user}:${owner.group}` : "";
    if (have.hazard !== undefined) return { ...base, op: have.exists ? "update" : "create", chownOnly: false, title: `directory ${dir.path}: cannot be made safely (${dir.purpose})`, blocked: have.hazard };
    if (!have.exists) return { ...base, op: "create", chownOnly: false, title: `directory ${dir.path}: create${ownedBy} (${dir.purpose})`, ...blockedOwner };
    if (have.kind === "symlink") {
      return { ...base, op: "update", chownOnly: false, title: `directory ${dir.path}: is a symbolic link`, blocked: `${dir.path} is a symbolic link; rtsync does not follow links it did not create: point the module at the real directory` };
    }
    if (have.kind !== "directory") return { ...base, op: "update", chownOnly: false, title: `directory ${dir.path}: exists but is not a directory`, blocked: `${dir.path} exists and is not a directory; move it away` };
    if (!owner) return undefined;
    const uid = userIdOf(ctx.accounts, owner.user);
    const gid = groupIdOf(ctx.accounts, owner.group);
    if (uid === have.uid && gid === have.gid) return undefined;
    const title = `directory ${dir.path}: owner ${ownerName(ctx.accounts, have.uid, have.gid)} -> ${owner.user}:${owner.group}`;
    if (!ctx.isRoot) return { ...base, op: "update", chownOnly: true, title, blocked: "changing the owner needs root" };
    return { ...base, op: "update", chownOnly: true, title, ...blockedOwner };
  },

  apply: async (c, ctx) => {
    const dir = c.want;
    // Again, just before mkdir and chown: a link swapped in since the plan must not redirect them.
    const hazard = await readPathHazard(dir.path, ctx.host.uid);
    if (hazard !== undefined) throw new ApplyError(hazard);
    // Walked from "/" (core/dir-walk.ts): created and chowned through descriptors, so a parent
    // renamed or exchanged for a link meanwhile cannot redirect either; no path-based chown.
    let handle;
    try {
      handle = await openDirectoryWalk(dir.path, { create: { mode: 0o755 }, uid: ctx.host.uid });
    } catch (e) {
      if (e instanceof WalkRefused) throw new ApplyError(`cannot create ${dir.path}: ${e.message}`);
      throw new ApplyError(`cannot create ${dir.path}: ${describeErrno(e)}`, { cause: e });
    }
    try {
      if (!dir.owner || ctx.host.uid !== 0) return {};
      const accounts = await ctx.accounts();
      const uid = userIdOf(accounts, dir.owner.user);
      const gid = groupIdOf(accounts, dir.owner.group);
      if (uid === undefined) throw new ApplyError(`user ${dir.owner.user} does not exist`);
      if (gid === undefined) throw new ApplyError(`group ${dir.owner.group} does not exist`);
      await handle.chown(uid, gid);
    } finally {
      await handle.close();
    }
    return {};
  },

  describe: (c) => ({ path: c.want.path, purpose: c.want.purpose, ...(c.want.owner ? { owner: `${c.want.owner.user}:${c.want.owner.group}` } : {}) }),
};
