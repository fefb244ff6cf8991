import { mkdir, stat } from "node:fs/promises";
import { execa } from "execa";
import { RtsyncError } from "../core/errors.ts";
import { findTool, toolEnv } from "../core/tool-env.ts";
import { redactUrl } from "../core/redact-url.ts";

// GitOps pull with the system `git`: one working copy (a shallow fetch of one ref), updated in
// place, so the manifest is always read from the same path (and so owns what it started).
//
// git runs as root on a URL from the command line: it is found by the trusted lookup, started
// with a built environment (no GIT_* variable, password variable or $HOME of the caller), may use
// only the file, https and ssh transports, and runs ssh and ssh-keygen found the same way.

export interface GitSource {
  readonly url: string;
  readonly ref: string;
  /** The manifest's path inside the repository. */
  readonly path: string;
  /** The working copy. */
  readonly dir: string;
}

const TIMEOUT_MS = 120_000;

/** Transports git may use: local repositories, https and ssh (not git://, ext::, fd::, http). */
const PROTOCOLS = ["protocol.allow=never", "protocol.file.allow=always", "protocol.https.allow=always", "protocol.ssh.allow=always"];

export interface GitRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

// `git -c … -C dir ARGS` as a trusted program in a built environment; never throws for an exit code.
export async function runGitRaw(dir: string, args: readonly string[], config: readonly string[] = []): Promise<GitRun> {
  const [git, ssh, sshKeygen] = await Promise.all([findTool("git"), findTool("ssh"), findTool("ssh-keygen")]);
  if (git === undefined) throw new RtsyncError("E_AGENT", "system", "git is not installed (or only where another user could have put it); install it (apt-get install git) and run again");
  const settings = [...PROTOCOLS, ...(ssh ? [`core.sshCommand=${ssh}`] : []), ...(sshKeygen ? [`gpg.ssh.program=${sshKeygen}`] : []), ...config];
  const r = await execa(git, [...settings.flatMap((c) => ["-c", c]), "-C", dir, ...args], {
    reject: false,
    timeout: TIMEOUT_MS,
    stdin: "ignore",
    extendEnv: false,
    // Never wait for a password on a terminal: the agent has none.
    env: toolEnv(process.env, { GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "true" }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), timedOut: r.timedOut };
}

async function git(dir: string, args: readonly string[]): Promise<string> {
  const r = await runGitRaw(dir, args);
  if (r.exitCode === 0) return r.stdout.trim();
  const why = redactUrl(r.stderr.trim().split("\n").filter(Boolean).slice(-2).join(" / ")) || (r.timedOut ? `timed out after ${TIMEOUT_MS / 1000}s` : `exit code ${r.exitCode}`);
  throw new RtsyncError("E_AGENT", "system", `git ${args[0]} in ${dir} failed: ${why}`);
}

/** Makes `dir` a repository whose `origin` is `url` (an existing one is reused). */
export async function runGitInit(source: GitSource): Promise<void> {
  await mkdir(source.dir, { recursive: true, mode: 0o700 });
  const exists = await stat(`${source.dir}/.git`).then(
    () => true,
    () => false,
  );
  if (!exists) await git(source.dir, ["init", "--quiet"]);
  const remote = await git(source.dir, ["remote"]);
  if (remote.split("\n").includes("origin")) await git(source.dir, ["remote", "set-url", "origin", source.url]);
  else await git(source.dir, ["remote", "add", "origin", source.url]);
}

/** Fetches the tip of `ref` alone (depth 1); returns its commit id. */
export async function runGitFetch(source: GitSource): Promise<string> {
  await git(source.dir, ["fetch", "--quiet", "--depth=1", "--no-tags", "origin", source.ref]);
  return git(source.dir, ["rev-parse", "--verify", "FETCH_HEAD^{commit}"]);
}

/** Points the working copy at `commit` (fetched before), dropping anything else in it. */
export async function runGitCheckout(source: GitSource, commit: string): Promise<void> {
  await git(source.dir, ["checkout", "--quiet", "--force", "--detach", commit]);
  await git(source.dir, ["clean", "--quiet", "-ffdx"]);
}

/** The commit the working copy is at, or undefined when it has none yet. */
export async function readGitHead(source: GitSource): Promise<string | undefined> {
  return git(source.dir, ["rev-parse", "--verify", "HEAD^{commit}"]).catch(() => undefined);
}
