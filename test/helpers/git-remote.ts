import { mkdir } from "node:fs/promises";
import { execa } from "execa";

// A git remote for `rtsync agent --git` tests: a bare repository (the remote, `file://` URL) and a
// working copy whose `origin` is it, both on `main`; `git(...)` runs in the working copy as a
// fixed author.

export const GIT_IDENT = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } as const;

export interface GitRemote {
  readonly bare: string;
  readonly work: string;
  /** Runs git in the working copy; its trimmed stdout. */
  git(...args: string[]): Promise<string>;
}

export async function makeGitRemote(bare: string, work: string): Promise<GitRemote> {
  const git = async (...args: string[]): Promise<string> => String((await execa("git", ["-C", work, ...args], { env: GIT_IDENT })).stdout).trim();
  await execa("git", ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  await mkdir(work);
  await execa("git", ["init", "--quiet", "--initial-branch=main", work]);
  await git("remote", "add", "origin", `file://${bare}`);
  return { bare, work, git };
}
