import * as z from "zod";

// The node policy (contract: "Node policy and signed GitOps"): what a manifest may ask of this
// machine, written by the node's administrator in /etc/rtsync/policy.yaml. The manifest cannot
// change it. Strict: an unknown key is an error, not ignored.

const absolutePath = z.string().regex(/^\//, { error: "must be an absolute path (start with /)" });

export const PolicySchema = z.strictObject({
  version: z.literal(1, { error: "must be 1 (the only policy version)" }),
  paths: z.array(absolutePath).optional(),
  sysctl: z.boolean().optional(),
  accounts: z.array(z.string().min(1)).optional(),
  git: z.strictObject({ allowedSigners: absolutePath.optional() }).optional(),
  rsync: z
    .strictObject({
      acceptVersion: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "must be a version like 3.2.7" }),
    })
    .optional(),
});

export type Policy = z.infer<typeof PolicySchema>;

/** A parsed policy with where it came from: its file and the line of each rule, for messages. */
export interface NodePolicy {
  readonly file: string;
  readonly policy: Policy;
  readonly lines: Readonly<Partial<Record<"paths" | "sysctl" | "accounts" | "rsync", number>>>;
}
