import { messageOf } from "../core/errors.ts";
import { verifyHeadSignature, type SignatureVerdict } from "./git-verify.ts";

// The agent's gate for --allowed-signers: the verdict on the newest fetched commit, kept so an
// interval's fetch of the same refused head does not run git verify-commit again. A commit id
// names its content and signature, so a verdict for it never goes stale (the signers file is
// read at start only for its presence: a changed file is read again by the next new commit).

export interface SignatureGate {
  check(commit: string): Promise<SignatureVerdict>;
}

export function createSignatureGate(dir: string, allowedSigners: string): SignatureGate {
  let last: { readonly commit: string; readonly verdict: SignatureVerdict } | undefined;
  return {
    async check(commit) {
      if (last?.commit === commit) return last.verdict;
      const verdict = await verifyHeadSignature(dir, commit, allowedSigners).catch(
        (e: unknown): SignatureVerdict => ({ ok: false, reason: `commit ${commit.slice(0, 12)} cannot be verified: ${messageOf(e)}` }),
      );
      last = { commit, verdict };
      return verdict;
    },
  };
}
