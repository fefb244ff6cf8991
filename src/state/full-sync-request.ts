import { rm } from "node:fs/promises";
import * as z from "zod/mini";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { watchFiles } from "./layout.ts";

// A request for a full sync now (WATCHDIR/full-sync-request.json), written by the agent and read
// by the watcher when it gets SIGUSR2: why, and which of its targets (absent: every one). The
// agent asks for one when it recreated a module directory a lane replicates to, so the replica is
// filled at once rather than at the next scheduled full sync.

export const FullSyncRequestSchema = z.object({
  /** Shown as the lane's problem until the full sync succeeded, and as the run's reason. */
  reason: z.string().check(z.minLength(1)),
  /** Target keys (TargetSpec.key); absent: every target of the watch. */
  targets: z.optional(z.array(z.string())),
});
export type FullSyncRequest = z.infer<typeof FullSyncRequestSchema>;

const REQUEST: DocumentKind<FullSyncRequest> = {
  what: "an rtsync full sync request",
  schema: FullSyncRequestSchema,
  fix: "remove it; the agent writes it again when needed",
};

export function writeFullSyncRequest(watchDir: string, request: FullSyncRequest): Promise<void> {
  return writeDocument(watchFiles.fullSyncRequest(watchDir), request, { mode: 0o644 });
}

/** Reads and removes the request (undefined when there is none). */
export async function takeFullSyncRequest(watchDir: string): Promise<FullSyncRequest | undefined> {
  const file = watchFiles.fullSyncRequest(watchDir);
  const request = await readDocument(file, REQUEST);
  await rm(file, { force: true });
  return request;
}
