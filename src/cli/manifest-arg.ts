import { hostname, homedir } from "node:os";
import { RtsyncError } from "../core/errors.ts";
import { formatIssue } from "../manifest/issues.ts";
import { loadManifest } from "../manifest/load.ts";
import { resolveManifest, type ResolvedManifest } from "../manifest/resolve.ts";
import type { Manifest } from "../manifest/schema.ts";
import type { Output } from "./output.ts";

export const DEFAULT_MANIFEST = "rtsync.yaml";

export interface NodeOptions {
  readonly node?: string;
}

/** The node to converge: --node, else the machine's short hostname. */
export function nodeName(opts: NodeOptions): string {
  return opts.node ?? hostname().split(".")[0] ?? hostname();
}

// Loads and validates the manifest, printing its warnings; an invalid one prints every error and
// throws, so nothing is changed.
export async function loadValid(file: string, io: Output): Promise<Manifest> {
  const result = await loadManifest(file);
  for (const w of result.warnings) io.err(formatIssue(w));
  if (!result.ok) {
    for (const e of result.errors) io.err(formatIssue(e));
    const n = result.errors.length;
    throw new RtsyncError("E_MANIFEST", "user", `${file} is invalid (${n} error${n === 1 ? "" : "s"}); nothing was changed`);
  }
  return result.manifest;
}

export async function loadResolved(file: string, opts: NodeOptions, io: Output): Promise<ResolvedManifest> {
  const manifest = await loadValid(file, io);
  return resolveManifest(manifest, {
    manifestFile: file,
    node: nodeName(opts),
    uid: process.getuid?.() ?? 0,
    env: process.env,
    homeDir: homedir(),
  });
}
