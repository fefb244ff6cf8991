import { createHash } from "node:crypto";

// The file format of the CLI bundle's V8 code cache (dist/cli/rtsync.cjs.cache): one JSON header
// line, then V8's cached data. V8 checks its own version and flags, but in release builds not the
// data itself (a flipped byte crashed node with "unreachable code" or ran wrong code), and it
// knows the source only by its length. So the header names the bundle the data was made from, the
// node that made it, and a SHA-256 of the data; anything that does not match is not used. Pure.

const MAGIC = "rtsync-code-cache";
const VERSION = 1;

/** What a cache must have been made by and for. */
export interface CacheIdentity {
  /** The bundle's id: the SHA-256 of its code, written on its first line by the build. */
  readonly bundle: string;
  /** process.version and process.arch of the node that made it. */
  readonly node: string;
  readonly arch: string;
}

interface CacheHeader extends CacheIdentity {
  readonly magic: typeof MAGIC;
  readonly v: typeof VERSION;
  readonly length: number;
  readonly sha256: string;
}

export type CacheRead = { readonly ok: true; readonly data: Buffer } | { readonly ok: false; readonly reason: string };

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The id line the build writes first in the bundle, for `code` (the rest of the file). */
export function buildBundleIdLine(code: string): string {
  return `// rtsync-bundle ${sha256(Buffer.from(code, "utf8"))}\n`;
}

/** The bundle's id from its first line, or undefined when it has none. */
export function parseBundleId(text: string): string | undefined {
  return /^\/\/ rtsync-bundle ([0-9a-f]{64})\n/.exec(text.slice(0, 100))?.[1];
}

/** The cache file for V8's `data`, made for `id`. */
export function buildCacheFile(id: CacheIdentity, data: Uint8Array): Buffer {
  const header: CacheHeader = { magic: MAGIC, v: VERSION, bundle: id.bundle, node: id.node, arch: id.arch, length: data.length, sha256: sha256(data) };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, "utf8"), data]);
}

/** V8's data from a cache file, when the file is whole and was made for `want`. */
export function parseCacheFile(file: Buffer, want: CacheIdentity): CacheRead {
  const eol = file.indexOf(10);
  if (eol < 0 || eol > 1024) return { ok: false, reason: "no header" };
  let header: Partial<CacheHeader>;
  try {
    header = JSON.parse(file.subarray(0, eol).toString("utf8")) as Partial<CacheHeader>;
  } catch {
    return { ok: false, reason: "unreadable header" };
  }
  if (header.magic !== MAGIC || header.v !== VERSION) return { ok: false, reason: "not an rtsync code cache of this format" };
  if (header.bundle !== want.bundle) return { ok: false, reason: "made for another build" };
  if (header.node !== want.node || header.arch !== want.arch) return { ok: false, reason: `made by node ${String(header.node)} ${String(header.arch)}` };
  const data = file.subarray(eol + 1);
  if (data.length !== header.length || sha256(data) !== header.sha256) return { ok: false, reason: "damaged" };
  return { ok: true, data };
}
