import * as z from "zod/mini";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { stateLayout } from "./layout.ts";

// Who holds the apply lock of a stateDir (apply.lock.owner): written by the holder right after
// taking the lock and removed before releasing it, read by whoever waits for it.

export const LockOwnerSchema = z.object({
  pid: z.int(),
  startedAt: z.string(),
  manifest: z.string(),
});
export type LockOwner = z.infer<typeof LockOwnerSchema>;

const OWNER: DocumentKind<LockOwner> = {
  what: "an rtsync lock owner record",
  schema: LockOwnerSchema,
  fix: "it is rewritten by the next apply; remove it if no rtsync runs",
};

/** The lock's holder, or undefined when none is recorded or the record is unreadable. */
export async function readLockOwner(stateDir: string): Promise<LockOwner | undefined> {
  return readDocument(stateLayout.lockOwner(stateDir), OWNER).catch(() => undefined);
}

export function writeLockOwner(stateDir: string, owner: LockOwner): Promise<void> {
  return writeDocument(stateLayout.lockOwner(stateDir), owner, { fsync: false });
}
