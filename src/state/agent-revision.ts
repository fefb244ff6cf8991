import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import * as z from "zod/mini";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { stateLayout } from "./layout.ts";

// The manifest revision `rtsync agent` last applied on this node (STATEDIR/agent/revision.json):
// a git commit id (--git), or the sha256 of the manifest's text. Written by the agent after each
// reconcile of a new revision, read by `rtsync status` and the agent's metrics. It survives the
// agent: a new agent (an upgrade, a reboot) reads what its predecessor applied.

export const RevisionSourceSchema = z.union([
  z.object({ kind: z.literal("git"), url: z.string(), ref: z.string(), path: z.string() }),
  z.object({ kind: z.literal("file") }),
]);
export type RevisionSource = z.infer<typeof RevisionSourceSchema>;

export const AppliedRevisionSchema = z.object({
  version: z.literal(1),
  /** The commit id (git) or the manifest's sha256 (a file). */
  revision: z.string(),
  source: RevisionSourceSchema,
  /** The manifest file applied (the checkout's file under --git). */
  manifest: z.string(),
  node: z.string(),
  /** When the agent applied it. */
  appliedAt: z.string(),
  /** converged: a fresh look found nothing left to do; failed: some change failed or was held back. */
  result: z.enum(["converged", "failed"]),
  changed: z.number(),
  failed: z.number(),
  /** The manifest's text as applied (this document is 0600): \`rtsync status\` shows what the agent runs when the file on disk is invalid, stale or not given. */
  text: z.optional(z.string()),
});
export type AppliedRevision = z.infer<typeof AppliedRevisionSchema>;

const REVISION: DocumentKind<AppliedRevision> = {
  what: "an rtsync applied-revision record",
  schema: AppliedRevisionSchema,
  fix: "the agent writes it again after its next reconcile; remove it if no agent runs",
};

/** The revision the agent last applied in `stateDir`, or undefined when none did. */
export function readAppliedRevision(stateDir: string): Promise<AppliedRevision | undefined> {
  return readDocument(stateLayout.agentRevision(stateDir), REVISION);
}

export async function writeAppliedRevision(stateDir: string, doc: AppliedRevision): Promise<void> {
  const file = stateLayout.agentRevision(stateDir);
  // A directory that cannot be made shows as the write's own error (a StateError naming the file).
  await mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch(() => undefined);
  await writeDocument(file, doc);
}
