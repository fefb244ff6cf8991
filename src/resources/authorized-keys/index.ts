import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../core/atomic-write.ts";
import { openDirectoryWalk, WalkRefused } from "../../core/dir-walk.ts";
import { ApplyError, describeErrno, errnoOf } from "../../core/errors.ts";
import type { ResolvedSshReceiver } from "../../manifest/resolve.ts";
import { receiverHome } from "../account/index.ts";
import { resourceId } from "../ids.ts";
import type { ChangeBase, ResourceBase, ResourceKind } from "../types.ts";

// An sshReceiver's lines in its account's authorized_keys (HOME/.ssh/authorized_keys): one per
// key, restricted to writing into the receiver's path through rrsync, and marked `# rtsync:NAME`.
// rtsync owns only the lines marked with its receiver's name: others (the operator's, another
// receiver's) are kept as they are, in their place. The file, .ssh and the home are written by
// root through descriptors walked from "/" (core/dir-walk.ts), which refuses a directory the
// account owns: an account that could edit its own authorized_keys could lift the restriction.

export const RRSYNC_PATH = "/usr/bin/rrsync";

export interface DesiredAuthorizedKeys extends ResourceBase {
  readonly receiver: string;
  readonly account: string;
  /** Known when rtsync creates the account (it chooses the home); else read from /etc/passwd. */
  readonly home?: string;
  /** The public keys, as the manifest gives them. */
  readonly keys: readonly string[];
  /** The lines rtsync owns, one per key. */
  readonly lines: readonly string[];
}

export type AuthorizedKeysActual =
  | { readonly home: undefined }
  | { readonly home: string; readonly file: string; readonly symlink: boolean; readonly content: string | undefined };

export interface AuthorizedKeysChange extends ChangeBase {
  readonly kind: "authorized-keys";
  readonly receiver: string;
  readonly account: string;
  readonly file: string;
  /** The whole file as it will be; unused when `prune` (apply takes the receiver's lines out of the file as it finds it). */
  readonly content: string;
  /** The receiver left the manifest: its marked lines are removed, everything else is kept. */
  readonly prune?: true;
}

/** The marker of receiver NAME's lines. */
export const markerOf = (receiver: string): string => `# rtsync:${receiver}`;

/** One line: the key, allowed only to write into `path` through rrsync, marked. Pure. */
export function renderAuthorizedKeyLine(r: Pick<ResolvedSshReceiver, "name" | "path">, key: string): string {
  // -absolute: the sender names the receiver's real path (ssh://user@host/PATH), as without rrsync.
  return `restrict,command="${RRSYNC_PATH} -wo -absolute ${r.path}" ${key} ${markerOf(r.name)}`;
}

/** The file with the receiver's lines replaced by `lines` (others kept in place, ours where the first of ours was, else at the end). Pure. */
export function planAuthorizedKeys(before: string, receiver: string, lines: readonly string[]): string {
  const marker = markerOf(receiver);
  const mine = (l: string): boolean => l.endsWith(` ${marker}`);
  const old = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const at = old.findIndex(mine);
  const kept = old.filter((l) => !mine(l));
  const index = at < 0 ? kept.length : old.slice(0, at).filter((l) => !mine(l)).length;
  const out = [...kept.slice(0, index), ...lines, ...kept.slice(index)];
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}

// The key part of a line of ours ("TYPE BASE64 comment"), for the diff.
function keyOf(line: string, receiver: string): string {
  const m = /" (.*) # rtsync:/.exec(line);
  return (m?.[1] ?? line).replace(` ${markerOf(receiver)}`, "");
}

export const authorizedKeysKind: ResourceKind<DesiredAuthorizedKeys, AuthorizedKeysActual, AuthorizedKeysChange> = {
  build: (m) =>
    m.sshReceivers.map((r) => ({
      id: resourceId.authorizedKeys(r.name),
      receiver: r.name,
      account: r.account,
      ...(r.createAccount ? { home: receiverHome(r.account) } : {}),
      keys: r.authorizedKeys,
      lines: r.authorizedKeys.map((k) => renderAuthorizedKeyLine(r, k)),
      dependsOn: [...(r.createAccount ? [resourceId.account(r.account)] : []), resourceId.directory(r.path)],
    })),

  read: async (d, { accounts }) => {
    const home = accounts.users.get(d.account)?.home ?? d.home;
    if (home === undefined) return { home: undefined };
    const file = join(home, ".ssh", "authorized_keys");
    const s = await lstat(file).catch((e: unknown) => {
      if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return undefined;
      throw e;
    });
    if (s === undefined) return { home, file, symlink: false, content: undefined };
    if (s.isSymbolicLink()) return { home, file, symlink: true, content: undefined };
    return { home, file, symlink: false, content: await readFile(file, "utf8") };
  },

  plan: (d, have, ctx) => {
    const base = { id: d.id, kind: "authorized-keys" as const, receiver: d.receiver, account: d.account, dependsOn: d.dependsOn };
    const what = `sshReceiver ${d.receiver}`;
    if (have.home === undefined) {
      const home = ctx.creates.users.has(d.account) ? d.home : undefined;
      if (home === undefined) return { ...base, op: "create", file: "", content: "", title: `authorized_keys of ${d.account}: the account does not exist (${what})`, details: [], blocked: `account ${d.account} does not exist: create it, or set createAccount: true` };
      const content = planAuthorizedKeys("", d.receiver, d.lines);
      const file = join(home, ".ssh", "authorized_keys");
      return { ...base, op: "create", file, content, title: `authorized_keys ${file}: add ${d.keys.length} key(s) (${what})`, details: d.keys.map((k) => `  + ${k}`) };
    }
    if (have.symlink) return { ...base, op: "update", file: have.file, content: "", title: `authorized_keys ${have.file}: is a symbolic link (${what})`, details: [], blocked: `${have.file} is a symbolic link; rtsync does not write through links` };
    const before = have.content ?? "";
    const content = planAuthorizedKeys(before, d.receiver, d.lines);
    if (have.content !== undefined && content === before) return undefined;
    const marker = markerOf(d.receiver);
    const had = before.split("\n").filter((l) => l.endsWith(` ${marker}`));
    const added = d.lines.filter((l) => !had.includes(l)).map((l) => `  + ${keyOf(l, d.receiver)}`);
    const removed = had.filter((l) => !d.lines.includes(l)).map((l) => `  - ${keyOf(l, d.receiver)}`);
    const counts = [added.length > 0 ? `add ${added.length} key(s)` : "", removed.length > 0 ? `remove ${removed.length} key(s)` : ""].filter(Boolean).join(", ") || "reorder";
    return {
      ...base,
      op: have.content === undefined ? "create" : "update",
      file: have.file,
      content,
      title: `authorized_keys ${have.file}: ${counts} (${what})`,
      details: [...added, ...removed],
      ...(ctx.isRoot ? {} : { blocked: "writing another account's authorized_keys needs root" }),
    };
  },

  // A receiver no longer declared (recorded by an earlier apply of this manifest): its lines go,
  // nothing else of the file does. Its account and path stay (they may hold the replica).
  prune: (desired, ctx) => {
    const declared = new Set(desired.map((d) => d.receiver));
    return Object.entries(ctx.inventory.sshReceivers ?? {})
      .filter(([name, r]) => !declared.has(name) && (r.owner ?? "") === ctx.owner)
      .map(([name, r]) => ({
        id: resourceId.authorizedKeys(name),
        kind: "authorized-keys" as const,
        op: "delete" as const,
        receiver: name,
        account: r.account,
        file: r.file,
        content: "",
        prune: true as const,
        title: `authorized_keys ${r.file}: remove the keys of sshReceiver ${name} (no longer in the manifest; its account and path are kept)`,
        details: [],
        dependsOn: [],
        ...(ctx.isRoot ? {} : { blocked: "writing another account's authorized_keys needs root" }),
      }));
  },

  apply: async (c, ctx) => {
    const sshDir = join(c.file, "..");
    try {
      // Home and .ssh made by root (0755, root's): the account may read its keys, never change them.
      const handle = await openDirectoryWalk(sshDir, { ...(c.prune ? {} : { create: { mode: 0o755 } }), uid: process.getuid?.() ?? 0 });
      await handle.close();
      if (c.prune) {
        const s = await lstat(c.file).catch((e: unknown) => (errnoOf(e) === "ENOENT" ? undefined : Promise.reject(e)));
        if (s?.isSymbolicLink()) throw new ApplyError(`cannot write ${c.file}: it is a symbolic link; rtsync does not write through links`);
        const before = s === undefined ? undefined : await readFile(c.file, "utf8");
        const after = before === undefined ? before : planAuthorizedKeys(before, c.receiver, []);
        if (before !== undefined && after !== undefined && after !== before) await writeFileAtomic(c.file, after, { mode: 0o644 });
        await ctx.updateInventory((inv) => void delete inv.sshReceivers?.[c.receiver]);
        return {};
      }
      await writeFileAtomic(c.file, c.content, { mode: 0o644 });
    } catch (e) {
      if (e instanceof ApplyError) throw e;
      if (e instanceof WalkRefused) throw new ApplyError(`cannot write ${c.file}: ${e.message} (make the home and its .ssh root's: chown root: HOME HOME/.ssh)`);
      if (c.prune && errnoOf(e) === "ENOENT") {
        await ctx.updateInventory((inv) => void delete inv.sshReceivers?.[c.receiver]);
        return {};
      }
      throw new ApplyError(`cannot write ${c.file}: ${describeErrno(e)}`, { cause: e });
    }
    await ctx.updateInventory((inv) => void (inv.sshReceivers = { ...inv.sshReceivers, [c.receiver]: { manifest: ctx.manifest, owner: ctx.owner, account: c.account, file: c.file } }));
    return {};
  },

  describe: (c) => ({ file: c.file, keys: c.details.map((l) => l.trim()) }),
};
