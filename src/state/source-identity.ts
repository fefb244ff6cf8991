import { rm } from "node:fs/promises";
import * as z from "zod/mini";
import { describeErrno, StateError } from "../core/errors.ts";
import { readDocument, stateDirHint, writeDocument, type DocumentKind } from "./document.ts";
import { watchFiles } from "./layout.ts";

// The identity of a watch's source root as the job first found it (WATCHDIR/source-identity.json):
// what it is (lstat: a symlink is not the directory), its device and inode, and the mount that
// holds it (/proc/self/mountinfo), so that a bind mount on the same device is seen. Written by
// the watcher when it has none (or the source path changed); removed by
// `rtsync apply --accept-source NAME` so that the next look records the source as it is now. A
// watcher restart compares against it, not against whatever is there at that moment.

export const SourceMountSchema = z.object({
  /** Mount ID (field 1 of mountinfo): new at every mount, so compared within one boot only. */
  id: z.number(),
  /** The root of the mount within its filesystem (field 4): "/" or the bound directory. */
  root: z.string(),
  /** Where it is mounted (field 5). */
  point: z.string(),
  fstype: z.string(),
});
export type SourceMount = z.infer<typeof SourceMountSchema>;

export const SourceIdentitySchema = z.object({
  type: z.enum(["directory", "symlink", "other"]),
  dev: z.number(),
  ino: z.number(),
  /** A symlink's target, as readlink says. */
  link: z.optional(z.string()),
  /** The mount holding the root (undefined when /proc could not tell). */
  mount: z.optional(SourceMountSchema),
  /** /proc/sys/kernel/random/boot_id: mount IDs and anonymous device numbers hold within one boot. */
  bootId: z.optional(z.string()),
});
export type SourceIdentity = z.infer<typeof SourceIdentitySchema>;

export const RecordedIdentitySchema = z.object({
  version: z.literal(1),
  /** The source path it is the identity of: a watch whose source changed in the manifest records anew. */
  source: z.string(),
  recordedAt: z.string(),
  identity: SourceIdentitySchema,
});
export type RecordedIdentity = z.infer<typeof RecordedIdentitySchema>;

const IDENTITY: DocumentKind<RecordedIdentity> = {
  what: "an rtsync source identity record",
  schema: RecordedIdentitySchema,
  fix: "run `rtsync apply --accept-source WATCH` to record the source as it is now",
};

/** The recorded identity of the watch's source, or undefined when none is recorded. */
export function readRecordedIdentity(watchDir: string): Promise<RecordedIdentity | undefined> {
  return readDocument(watchFiles.sourceIdentity(watchDir), IDENTITY);
}

export function writeRecordedIdentity(watchDir: string, doc: RecordedIdentity): Promise<void> {
  return writeDocument(watchFiles.sourceIdentity(watchDir), doc);
}

/** Forgets the recorded identity: the watcher records the source as it is at its next look. */
export async function removeRecordedIdentity(watchDir: string): Promise<void> {
  const file = watchFiles.sourceIdentity(watchDir);
  try {
    await rm(file, { force: true });
  } catch (error) {
    throw new StateError(file, "io", `cannot remove ${file}: ${describeErrno(error)}${stateDirHint(error)}`, { cause: error });
  }
}
