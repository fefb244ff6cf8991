import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import * as z from "zod/mini";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { stateLayout } from "./layout.ts";

// What a running `rtsync agent` knows that nobody else can see (STATEDIR/agent/status.json): the
// manifest revision it refused and why, the processes it holds back because they keep dying, its
// last reconcile. Written by the agent whenever one of these changes, read by `rtsync status`
// (only while the agent's pid is alive: a dead agent's view is history, not health).

const IssueSchema = z.object({ file: z.string(), line: z.number(), col: z.number(), message: z.string() });

export const AgentStatusSchema = z.object({
  version: z.literal(1),
  pid: z.number(),
  node: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /**
   * The last manifest revision refused (invalid, a password that cannot be read, or under
   * --allowed-signers a commit whose signature does not verify), while it is the newest. An issue
   * at line 0 has no place in the text (an unreadable manifest, a signature): its message is all.
   */
  refused: z.nullable(z.object({ revision: z.string(), at: z.string(), issues: z.array(IssueSchema) })),
  /** Daemons and watchers restarted with backoff because they died soon after each start. */
  crashLooping: z.array(
    z.object({
      /** Resource id: `watcher:NAME` or `daemon:NAME`. */
      id: z.string(),
      /** Deaths in a row, each soon after its start (or a start that failed). */
      deaths: z.number(),
      /** When the agent starts it again, null when it is running now. */
      nextRestartAt: z.nullable(z.string()),
    }),
  ),
  /** The last reconcile that differed from the one before (an idle agent does not rewrite this file). */
  lastReconcile: z.nullable(
    z.object({
      at: z.string(),
      reasons: z.array(z.string()),
      result: z.enum(["converged", "failed", "error"]),
      durationMs: z.number(),
      changed: z.number(),
      failed: z.number(),
      /** Resources that still differ from the manifest (failed, blocked, held back). */
      outOfSync: z.array(z.string()),
      message: z.optional(z.string()),
    }),
  ),
});
export type AgentStatusDoc = z.infer<typeof AgentStatusSchema>;

const STATUS: DocumentKind<AgentStatusDoc> = {
  what: "an rtsync agent status document",
  schema: AgentStatusSchema,
  fix: "the agent rewrites it while it runs; remove it if no agent runs",
};

/** The agent's status document, or undefined when no agent ever ran on this stateDir. */
export function readAgentStatus(stateDir: string): Promise<AgentStatusDoc | undefined> {
  return readDocument(stateLayout.agentStatus(stateDir), STATUS);
}

export async function writeAgentStatus(stateDir: string, doc: AgentStatusDoc): Promise<void> {
  const file = stateLayout.agentStatus(stateDir);
  // A directory that cannot be made shows as the write's own error (a StateError naming the file).
  await mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch(() => undefined);
  await writeDocument(file, doc, { fsync: false });
}
