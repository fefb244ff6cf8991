import { lstatSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { createTwoFilesPatch } from "diff";
import { writeFileAtomic } from "../../core/atomic-write.ts";
import { ApplyError, describeErrno, errnoOf } from "../../core/errors.ts";
import { readDirectoryOpenToOthers, readPathHazard } from "../../core/path-safety.ts";
import { compareSecrets, parseSecretsFile, type SecretsDelta } from "../daemon/secrets-file.ts";
import type { ChangeBase, ResourceKind } from "../types.ts";
import { buildFiles, type DesiredFile } from "./build.ts";

// A file rtsync writes: compared byte for byte, written atomically with its final mode and owner.
// Secret files are never shown: their changes list user names only.

export type FileActual = (
  | { readonly exists: false }
  | { readonly exists: true; readonly symlink: true }
  | { readonly exists: true; readonly symlink: false; readonly content: string; readonly mode: number; readonly uid: number; readonly gid: number }
) & {
  /** Why writing there could follow a link rtsync did not expect (core/path-safety.ts). */
  readonly hazard?: string;
  /** Other users can write in its directory. */
  readonly openDirectory?: boolean;
};

export interface FileChange extends ChangeBase {
  readonly kind: "file";
  readonly want: DesiredFile;
  /** Secret-file deltas, names only. */
  readonly secrets?: SecretsDelta;
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;

function unifiedDiff(path: string, before: string, after: string): string[] {
  const patch = createTwoFilesPatch(path, path, before, after, "", "", { context: 3 });
  return patch
    .split("\n")
    .filter((l) => !l.startsWith("=====") && !l.startsWith("Index:") && l !== "\\ No newline at end of file")
    .filter((l, i, all) => !(i === all.length - 1 && l === ""))
    .map((l) => (l.startsWith("---") || l.startsWith("+++") ? l.trimEnd() : l));
}

// What a change of a secret file shows: which users were added, removed or changed; never a password.
function secretDetails(f: DesiredFile, before: string | undefined, after: string): { details: string[]; secrets?: SecretsDelta } {
  if (f.secret === "password") return { details: [before === undefined ? "  password: (set)" : "  password: (changed)"] };
  const delta = compareSecrets(parseSecretsFile(before ?? ""), parseSecretsFile(after));
  const details = [
    ...(delta.added.length ? [`  users added: ${delta.added.join(", ")}`] : []),
    ...(delta.removed.length ? [`  users removed: ${delta.removed.join(", ")}`] : []),
    ...(delta.changed.length ? [`  passwords changed: ${delta.changed.join(", ")} (********)`] : []),
  ];
  return { details: details.length ? details : ["  content differs (layout only)"], secrets: delta };
}

function shown(f: DesiredFile, before: string | undefined, after: string): { details: string[]; secrets?: SecretsDelta } {
  return f.secret ? secretDetails(f, before, after) : { details: unifiedDiff(f.path, before ?? "", after) };
}

export const fileKind: ResourceKind<DesiredFile, FileActual, FileChange> = {
  build: buildFiles,

  read: async (f, { host }) => {
    const [hazard, openDirectory] = await Promise.all([readPathHazard(f.path, host.uid), readDirectoryOpenToOthers(f.path)]);
    const around = { ...(hazard === undefined ? {} : { hazard }), ...(openDirectory ? { openDirectory } : {}) };
    try {
      // Synchronous: a rendered file is small and local (see state/document.ts).
      const s = lstatSync(f.path);
      if (s.isSymbolicLink()) return { exists: true, symlink: true, ...around };
      return { exists: true, symlink: false, content: readFileSync(f.path, "utf8"), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, ...around };
    } catch (e) {
      if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return { exists: false, ...around };
      throw e;
    }
  },

  plan: (f, have, ctx) => {
    const base = { id: f.id, kind: "file" as const, want: f, dependsOn: f.dependsOn };
    if (!f.content.ok) return { ...base, op: have.exists ? "update" : "create", title: `file ${f.path}: cannot be rendered (${f.purpose})`, details: [], blocked: f.content.message };
    if (have.hazard !== undefined) return { ...base, op: have.exists ? "update" : "create", title: `file ${f.path}: cannot be written safely (${f.purpose})`, details: [], blocked: have.hazard };
    if (have.exists && have.symlink) {
      return { ...base, op: "update", title: `file ${f.path}: is a symbolic link (${f.purpose})`, details: [], blocked: `${f.path} is a symbolic link; rtsync does not write through links: remove it, or choose another path` };
    }
    const want = f.content.text;
    if (!have.exists) return { ...base, op: "create", title: `file ${f.path}: create, mode ${octal(f.mode)} (${f.purpose})`, ...shown(f, undefined, want) };
    const reasons: string[] = [];
    const differs = have.content !== want;
    if (differs) reasons.push("content");
    if (have.mode !== f.mode) reasons.push(`mode ${octal(have.mode)} -> ${octal(f.mode)}`);
    if (have.uid !== f.uid) reasons.push(`owner uid ${have.uid} -> ${f.uid}`);
    if (reasons.length === 0) return undefined;
    const blocked = have.uid !== f.uid && !ctx.isRoot ? { blocked: "changing the owner needs root" } : {};
    return { ...base, op: "update", title: `file ${f.path}: ${reasons.join(", ")} (${f.purpose})`, ...(differs ? shown(f, have.content, want) : { details: [] }), ...blocked };
  },

  apply: async (c, ctx) => {
    const f = c.want;
    if (!f.content.ok) throw new ApplyError(f.content.message);
    // Again, just before writing: a link swapped in since the plan must not redirect the write.
    const hazard = await readPathHazard(f.path, ctx.host.uid);
    if (hazard !== undefined) throw new ApplyError(hazard);
    try {
      await mkdir(dirname(f.path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(f.path, f.content.text, { mode: f.mode, owner: { uid: f.uid, gid: f.gid } });
    } catch (e) {
      throw new ApplyError(`cannot write ${f.path}: ${describeErrno(e)}`, { cause: e });
    }
    return {};
  },

  notice: (f, have) =>
    f.secret !== undefined && have.openDirectory === true ? `${f.path} (${f.purpose}) holds a secret in a directory other users can write; move it to a directory only root can write` : undefined,

  describe: (c) => ({
    path: c.want.path,
    mode: octal(c.want.mode),
    purpose: c.want.purpose,
    ...(c.want.secret ? { secret: c.want.secret } : {}),
    ...(c.secrets ? { secrets: { added: c.secrets.added, removed: c.secrets.removed, changed: c.secrets.changed } } : {}),
  }),
};
