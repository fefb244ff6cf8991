import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { describeErrno, RtsyncError } from "../core/errors.ts";
import { runGitRaw } from "./git.ts";

// Signed GitOps: a fetched commit is applied only when its signature verifies against an
// allowed-signers file (OpenSSH's format, `principal key` per line), by git's own SSH signature
// verification (`git verify-commit` running `ssh-keygen -Y find-principals` and `-Y verify`).
// An unsigned commit, one signed by a key not in the file, or one git cannot verify is refused
// like an invalid manifest. Only SSH signatures count: gpg.format=ssh.

export type SignatureVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether `commit` (fetched into the working copy `dir`) is signed by a key of `allowedSigners`.
 * The reason names the commit and what git said, in one sentence. Only observes.
 */
export async function verifyHeadSignature(dir: string, commit: string, allowedSigners: string): Promise<SignatureVerdict> {
  const r = await runGitRaw(dir, ["verify-commit", "--raw", commit], ["gpg.format=ssh", `gpg.ssh.allowedSignersFile=${allowedSigners}`]);
  if (r.exitCode === 0) return { ok: true };
  const said = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("[GNUPG:]"));
  return { ok: false, reason: `commit ${commit.slice(0, 12)} is not signed by an allowed signer of ${allowedSigners}: ${describeVerifyFailure(said, r.timedOut)}` };
}

/** What git's verify-commit output says, as a short clause. Pure. */
export function describeVerifyFailure(lines: readonly string[], timedOut = false): string {
  if (timedOut) return "the verification timed out";
  if (lines.length === 0) return "it has no signature";
  const text = lines.join(" / ");
  if (/Unable to open allowed keys file/i.test(text)) return "the allowed signers file cannot be read";
  if (/No principal matched/i.test(text)) return "its key is not in the allowed signers file";
  if (/Signature verification failed|incorrect signature|BAD signature/i.test(text)) return "the signature does not match the commit";
  if (/gpg failed|cannot run gpg|no signature found|not an SSH signature/i.test(text)) return "it is not signed with an SSH key (only SSH signatures are verified)";
  return text.slice(0, 300);
}

/**
 * Checks at start that the allowed-signers file is a readable regular file holding at least one
 * key; one sentence when it is not (the agent then exits 1). Only observes.
 */
export async function checkAllowedSigners(file: string): Promise<void> {
  let text: string;
  try {
    const handle = await open(file, constants.O_RDONLY);
    try {
      if (!(await handle.stat()).isFile()) throw new RtsyncError("E_AGENT", "user", `--allowed-signers ${file} is not a regular file`);
      text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof RtsyncError) throw e;
    throw new RtsyncError("E_AGENT", "user", `cannot read the allowed signers file ${file}: ${describeErrno(e)} (write one \`PRINCIPAL KEY\` line per signer, as ssh-keygen -Y verify reads it)`, { cause: e });
  }
  const keys = text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  if (keys.length === 0) throw new RtsyncError("E_AGENT", "user", `the allowed signers file ${file} names no key (write one \`PRINCIPAL KEY\` line per signer), so no commit could be applied`);
}
