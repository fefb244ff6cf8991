import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { parseDocument as parseYamlDocument } from "yaml";
import { messageOf } from "../core/errors.ts";
import { readTrustProblem } from "../core/owner-trust.ts";
import { formatIssue } from "../manifest/issues.ts";
import { ManifestError } from "../manifest/manifest-error.ts";
import { parseManifest } from "../manifest/parse.ts";
import { pathIdentifier } from "../manifest/path-identity.ts";
import { loadPolicy } from "../manifest/policy/load.ts";
import { defaultStateDir, resolveManifest } from "../manifest/resolve.ts";
import { isOurProcess } from "../resources/process/identity.ts";
import type { Host } from "../resources/host.ts";
import { readAppliedRevision, type AppliedRevision } from "../state/agent-revision.ts";
import { readAgentStatus } from "../state/agent-status.ts";
import { DEFAULT_MANIFEST, loadForNode, nodeName, type CommonOptions, type LoadedForNode } from "./manifest-arg.ts";

// Which manifest `rtsync status` describes. The processes run what was last applied, so when the
// agent applied something other than the file on disk (the file is invalid now, or an older copy
// under --git, or there is no file here at all), status describes what the agent applied and says
// why, instead of failing on the file or judging the node by a manifest nobody runs.

export interface StatusSource {
  readonly loaded: LoadedForNode;
  /** Why this is not the file on disk, or that file's problem (each one line; the node is then not healthy). */
  readonly notes: readonly string[];
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

// The revision's source, as an operator would name it.
function revisionText(rev: AppliedRevision): string {
  const what = rev.source.kind === "git" ? `commit ${rev.revision.slice(0, 12)} of ${rev.source.url} (${rev.source.ref}, ${rev.source.path})` : `revision ${rev.revision.slice(0, 12)} of ${rev.manifest}`;
  return `${what}, applied at ${rev.appliedAt}`;
}

// The applied text, resolved for the agent's node (or --node) as the agent resolved it.
async function loadApplied(rev: AppliedRevision & { readonly text: string }, opts: Pick<CommonOptions, "node" | "policy">): Promise<LoadedForNode | undefined> {
  const policy = await loadPolicy(opts.policy);
  const parsed = parseManifest(rev.text, rev.manifest, { identify: pathIdentifier(), ...(policy ? { policy } : {}) });
  if (!parsed.ok) return undefined;
  const node = opts.node ?? rev.node;
  const resolved = resolveManifest(parsed.manifest, { manifestFile: rev.manifest, node, uid: process.getuid?.() ?? 0, env: process.env, homeDir: homedir() });
  return { manifest: parsed.manifest, warnings: parsed.warnings, text: rev.text, ...(policy ? { policy } : {}), resolved };
}

type AgentRecord = AppliedRevision & { readonly text: string };

// The record the agent wrote in stateDir, when stateDir is root's and the record has its text;
// or why it cannot be read.
async function readRecordOrProblem(stateDir: string): Promise<{ readonly rev?: AgentRecord; readonly problem?: string }> {
  if ((await readTrustProblem(stateDir)) !== undefined) return {};
  try {
    const rev = await readAppliedRevision(stateDir);
    return rev?.text === undefined ? {} : { rev: { ...rev, text: rev.text } };
  } catch (e) {
    return { problem: messageOf(e) };
  }
}

// Where only a readable record helps (the file is invalid or missing): one that cannot be read is as none.
const readRecord = async (stateDir: string): Promise<AgentRecord | undefined> => (await readRecordOrProblem(stateDir)).rev;

// Whether the agent that writes in stateDir runs now.
async function agentRuns(host: Host, stateDir: string): Promise<boolean> {
  const doc = await readAgentStatus(stateDir).catch(() => undefined);
  return doc !== undefined && (await isOurProcess(host, { pid: doc.pid, match: ["agent"] }));
}

// Where an invalid manifest's agent record may be: the stateDir its text still names (when that much parses), and the default one.
async function candidateStateDirs(file: string): Promise<string[]> {
  const dirs: string[] = [];
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text !== undefined) {
    const named: unknown = parseYamlDocument(text).get("stateDir");
    if (typeof named === "string" && named.startsWith("/")) dirs.push(named);
  }
  dirs.push(ownDefaultStateDir());
  return [...new Set(dirs)];
}

const ownDefaultStateDir = (): string => defaultStateDir({ uid: process.getuid?.() ?? 0, env: process.env, homeDir: homedir() });

/** What `rtsync status FILE` describes: FILE, or what the agent applied in its place (and why). */
export async function loadStatusSource(file: string, opts: Pick<CommonOptions, "node" | "policy"> & { readonly stateDir?: string }, host: Host): Promise<StatusSource> {
  // No manifest here: what the agent applied (under --git its checkout is not the operator's to find).
  if (file === DEFAULT_MANIFEST && !existsSync(resolve(process.cwd(), file))) {
    const rev = await readRecord(opts.stateDir ?? ownDefaultStateDir());
    const loaded = rev === undefined ? undefined : await loadApplied(rev, opts);
    if (rev !== undefined && loaded !== undefined) return { loaded, notes: [] };
    return { loaded: await loadForNode(file, opts), notes: [] };
  }
  let loaded: LoadedForNode;
  try {
    loaded = await loadForNode(file, opts);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    // The file is invalid; the processes still run what was last applied from it.
    const absolute = resolve(process.cwd(), file);
    const real = await realpath(absolute).catch(() => absolute);
    for (const stateDir of await candidateStateDirs(absolute)) {
      const rev = await readRecord(stateDir);
      if (rev === undefined || rev.manifest !== real || (opts.node !== undefined && opts.node !== rev.node)) continue;
      const applied = await loadApplied(rev, opts);
      if (applied === undefined) continue;
      const first = e.issues.find((i) => i.severity === "error");
      return { loaded: applied, notes: [`${e.message.replace(/; nothing was changed$/, "")}${first ? ` (${formatIssue(first)})` : ""}; showing what the agent applied: ${revisionText(rev)}`] };
    }
    throw e;
  }
  // A running agent applied another text for this node: the file is stale (an old copy, or an edit not taken in yet).
  const { stateDir, node } = loaded.resolved;
  const { rev, problem } = await readRecordOrProblem(stateDir);
  if (problem !== undefined && (await agentRuns(host, stateDir))) return { loaded, notes: [`cannot tell what the agent runs: ${problem}`] };
  if (rev === undefined || rev.node !== node || sha256(rev.text) === sha256(loaded.text) || !(await agentRuns(host, stateDir))) return { loaded, notes: [] };
  const applied = await loadApplied(rev, { ...opts, node: nodeName(opts) });
  if (applied === undefined) return { loaded, notes: [] };
  return { loaded: applied, notes: [`${file} is not what the agent runs (it differs from ${revisionText(rev)}): showing what the agent applied`] };
}
