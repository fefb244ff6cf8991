import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { describeErrno, errnoOf, RtsyncError } from "../../core/errors.ts";
import { readTrustProblem } from "../../core/owner-trust.ts";
import { ManifestError } from "../manifest-error.ts";
import { parsePolicy } from "./parse.ts";
import type { NodePolicy } from "./schema.ts";

// Reads the node policy: /etc/rtsync/policy.yaml when it exists, or the file --policy names (which
// must exist). The file is opened without following a symlink, and it and its directories must be
// root's and writable by root only: a policy another user could edit would be no policy.

export const DEFAULT_POLICY_FILE = "/etc/rtsync/policy.yaml";

const MAX_POLICY_BYTES = 1 << 20;

const refuse = (message: string, cause?: unknown) => new RtsyncError("E_POLICY", "user", message, cause === undefined ? undefined : { cause });

/** The node policy, or undefined when no --policy was given and the default file does not exist. */
export async function loadPolicy(file: string | undefined, uid: number = process.getuid?.() ?? 0): Promise<NodePolicy | undefined> {
  const path = file ?? DEFAULT_POLICY_FILE;
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if (errnoOf(e) === "ENOENT" && file === undefined) return undefined;
    if (errnoOf(e) === "ELOOP") throw refuse(`node policy ${path} is a symbolic link; name the file itself (--policy FILE)`, e);
    throw refuse(`cannot read node policy ${path}: ${describeErrno(e)}`, e);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refuse(`node policy ${path} is not a regular file`);
    if (stat.size > MAX_POLICY_BYTES) throw refuse(`node policy ${path} is ${stat.size} bytes, over the limit of 1 MiB`);
    const trust = await readTrustProblem(path, uid);
    if (trust) throw refuse(`node policy ${path} is not trusted: ${trust}`);
    const text = (await handle.readFile()).toString("utf8");
    const parsed = parsePolicy(text, path);
    if (!parsed.ok) {
      const n = parsed.errors.length;
      throw new ManifestError(`node policy ${path} is invalid (${n} error${n === 1 ? "" : "s"}); nothing was changed`, parsed.errors);
    }
    return parsed.policy;
  } finally {
    await handle.close();
  }
}
