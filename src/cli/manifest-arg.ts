import { homedir, hostname } from "node:os";
import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { formatIssue, type ManifestIssue } from "../manifest/issues.ts";
import { RtsyncError } from "../core/errors.ts";
import { readTrustProblem } from "../core/owner-trust.ts";
import { loadManifest } from "../manifest/load.ts";
import { pathIdentifier } from "../manifest/path-identity.ts";
import { loadPolicy } from "../manifest/policy/load.ts";
import type { NodePolicy } from "../manifest/policy/schema.ts";
import { ManifestError } from "../manifest/manifest-error.ts";
import { checkNodeMatch, checkNodeWithoutLists } from "../manifest/node-match.ts";
import { readPasswordModeWarnings } from "../manifest/password-modes.ts";
import { placeInText } from "../manifest/place.ts";
import { resolveManifest, type ResolvedManifest } from "../manifest/resolve.ts";
import type { Manifest } from "../manifest/schema.ts";
import { renderIssueJson, renderStateWarningJson, type IssueJson } from "../render/issues-json.ts";
import type { Output } from "./output.ts";

// The manifest argument every command takes, and the --node it is read for.

export const DEFAULT_MANIFEST = "rtsync.yaml";

export interface CommonOptions {
  readonly node?: string;
  readonly json: boolean;
  /** --policy FILE: the node policy (default /etc/rtsync/policy.yaml when it exists). */
  readonly policy?: string;
}

/** The node to converge: --node, else the machine's short hostname. */
export function nodeName(opts: Pick<CommonOptions, "node">): string {
  return opts.node ?? hostname().split(".")[0] ?? hostname();
}

export interface LoadedManifest {
  readonly manifest: Manifest;
  readonly warnings: readonly ManifestIssue[];
  /** The manifest's text, to place findings that need the node at their line. */
  readonly text: string;
  /** The node policy it was checked against, if the node has one. */
  readonly policy?: NodePolicy;
}

/** Loads and validates the manifest against the node policy; an invalid one throws a ManifestError carrying every issue. */
export async function loadValid(file: string, opts: Pick<CommonOptions, "policy"> = {}): Promise<LoadedManifest> {
  const policy = await loadPolicy(opts.policy);
  const result = await loadManifest(file, { identify: pathIdentifier(), ...(policy ? { policy } : {}) });
  if (!result.ok) {
    const n = result.errors.length;
    const issues = [...result.errors, ...result.warnings].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ManifestError(`${file} is invalid (${n} error${n === 1 ? "" : "s"}); nothing was changed`, issues);
  }
  const modes = placeInText(result.text, file, await readPasswordModeWarnings(result.manifest, resolve(process.cwd(), file)));
  return { manifest: result.manifest, warnings: [...result.warnings, ...modes], text: result.text, ...(policy ? { policy } : {}) };
}

/**
 * The manifest's warnings plus, when `node` runs nothing of it, the unmatched-node warning, and
 * when --node named it (`explicit`) on a manifest without nodes: lists, that it selects nothing.
 */
export function warningsForNode(loaded: LoadedManifest, file: string, node: string, explicit = false): ManifestIssue[] {
  const unmatched = checkNodeMatch(loaded.manifest, node) ?? (explicit ? checkNodeWithoutLists(loaded.manifest, node, nodeName({})) : undefined);
  return [...loaded.warnings, ...placeInText(loaded.text, file, unmatched ? [unmatched] : [])];
}

export interface LoadedForNode extends LoadedManifest {
  readonly resolved: ResolvedManifest;
}

/** The manifest resolved for this node (working directory, uid and environment of this process). */
export async function loadForNode(file: string, opts: Pick<CommonOptions, "node" | "policy">): Promise<LoadedForNode> {
  const loaded = await loadValid(file, opts);
  const node = nodeName(opts);
  const absolute = resolve(process.cwd(), file);
  const resolved = resolveManifest(loaded.manifest, {
    // The real path: a symlink or another spelling of the same file is the same manifest.
    manifestFile: await realpath(absolute).catch(() => absolute),
    node,
    uid: process.getuid?.() ?? 0,
    env: process.env,
    homeDir: homedir(),
  });
  await assertStateDirTrusted(resolved.stateDir);
  return { ...loaded, warnings: warningsForNode(loaded, file, node, opts.node !== undefined), resolved };
}

/** Refuses a stateDir another user could change: its documents name the processes root stops. */
export async function assertStateDirTrusted(stateDir: string): Promise<void> {
  const why = await readTrustProblem(stateDir);
  if (why) throw new RtsyncError("E_TRUST", "user", `stateDir ${stateDir}: ${why} or choose another stateDir`);
}

/** Prints a manifest's warnings, then warnings about the state found, on stderr (text mode; --json puts them in its document). */
export function printWarnings(warnings: readonly ManifestIssue[], io: Output, stateWarnings: readonly string[] = []): void {
  for (const w of warnings) io.err(formatIssue(w));
  for (const w of stateWarnings) io.err(`rtsync: warning: ${w}`);
}

/** Manifest warnings and state warnings as one --json `warnings` list. */
export function warningsJson(warnings: readonly ManifestIssue[], stateWarnings: readonly string[] = []): IssueJson[] {
  return [...warnings.map(renderIssueJson), ...stateWarnings.map(renderStateWarningJson)];
}
