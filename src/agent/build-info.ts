import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";

// What `rtsync_build_info` says of the running rtsync: its version (package.json), the git commit
// it was built from, and Node's version. The revision is read from the files of a git checkout of
// the package (.git/HEAD and the ref it names, a worktree's `gitdir:` file and packed-refs
// included), never by running git: the agent runs as root, and git would read the checkout's
// config. An installed package that carries no .git says "unknown".

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly nodeVersion: string;
}

// The package root: two levels up from this module (src/agent/, or the CLI bundle in dist/cli/).
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const read = (file: string): Promise<string | undefined> => readFile(file, "utf8").then((t) => t.trim(), () => undefined);
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

// The commit HEAD names in the git directory `gitDir` (its common directory holds the shared refs).
async function readHead(gitDir: string): Promise<string | undefined> {
  const head = await read(join(gitDir, "HEAD"));
  if (head === undefined) return undefined;
  if (SHA.test(head)) return head;
  const ref = /^ref: (refs\/[^\s]+)$/.exec(head)?.[1];
  if (ref === undefined || ref.split("/").includes("..")) return undefined;
  const common = await read(join(gitDir, "commondir"));
  const commonDir = common === undefined ? gitDir : isAbsolute(common) ? common : join(gitDir, common);
  for (const dir of [gitDir, commonDir]) {
    const sha = await read(join(dir, ref));
    if (sha !== undefined && SHA.test(sha)) return sha;
  }
  const packed = (await read(join(commonDir, "packed-refs"))) ?? "";
  for (const line of packed.split("\n")) {
    const [sha, name] = line.split(" ");
    if (name === ref && sha !== undefined && SHA.test(sha)) return sha;
  }
  return undefined;
}

/** The version, revision (12 hex digits, or "unknown") and Node version of this rtsync. */
export async function readBuildInfo(root: string = ROOT): Promise<BuildInfo> {
  const pkg = await read(join(root, "package.json"));
  const version = pkg === undefined ? "unknown" : ((JSON.parse(pkg) as { version?: unknown }).version?.toString() ?? "unknown");
  const dotGit = join(root, ".git");
  const pointer = /^gitdir: (.+)$/.exec((await read(dotGit)) ?? "")?.[1];
  const gitDir = pointer === undefined ? dotGit : isAbsolute(pointer) ? pointer : join(root, pointer);
  const sha = await readHead(gitDir);
  return { version, revision: sha === undefined ? "unknown" : sha.slice(0, 12), nodeVersion: process.version };
}
