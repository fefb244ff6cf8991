import { LineCounter, parseDocument, isMap, type Document } from "yaml";
import { checkManifest } from "./checks/index.ts";
import { error, type ManifestIssue, type RawIssue } from "./issues.ts";
import { MAX_ALIAS_VALUES, MAX_MANIFEST_BYTES, MAX_MANIFEST_TEXT } from "./limits.ts";
import type { PathIdentify } from "./path-identity.ts";
import { checkPolicy } from "./policy/check.ts";
import type { NodePolicy } from "./policy/schema.ts";
import { positionOf } from "./positions.ts";
import { schemaIssues } from "./schema-issues.ts";
import { DaemonSchema, ManifestSchema, SshReceiverSchema, UserSchema, WatchSchema, type Manifest } from "./schema.ts";
import { scanYaml } from "./yaml-scan.ts";

// Manifest text -> validated Manifest or every issue, each placed at its line and column. Pure:
// the caller reads the file (load.ts).

export type ParseResult =
  | { readonly ok: true; readonly manifest: Manifest; readonly warnings: readonly ManifestIssue[] }
  | { readonly ok: false; readonly errors: readonly ManifestIssue[]; readonly warnings: readonly ManifestIssue[] };

function place(file: string, doc: Document, lines: LineCounter, issues: readonly RawIssue[]): ManifestIssue[] {
  return issues.map((issue) => {
    const at = positionOf(doc, lines, issue.path, issue.atKey ?? false);
    if (!issue.related) return { ...issue, file, ...at };
    const other = positionOf(doc, lines, issue.related.path, issue.related.atKey ?? false);
    return { ...issue, file, ...at, message: `${issue.message} (${file}:${other.line}:${other.col})${issue.related.rest}` };
  });
}

function byPosition(a: ManifestIssue, b: ManifestIssue): number {
  return a.line - b.line || a.col - b.col;
}

// A copy of `data` without the values the schema rejected, so the semantic checks can still run
// (and report) on everything else when one part of the manifest fails the schema.
function pruned(data: unknown, issues: readonly { path: readonly PropertyKey[]; code: string; keys?: string[] }[]): unknown {
  const copy = structuredClone(data);
  const drop = (path: readonly PropertyKey[]) => {
    let cur: unknown = copy;
    for (const seg of path.slice(0, -1)) cur = cur && typeof cur === "object" ? (cur as Record<PropertyKey, unknown>)[seg] : undefined;
    const last = path[path.length - 1];
    if (cur && typeof cur === "object" && last !== undefined) delete (cur as Record<PropertyKey, unknown>)[last];
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") for (const k of issue.keys ?? []) drop([...issue.path, k]);
    else drop(issue.path);
  }
  return copy;
}

// The entries of one record section that are valid on their own.
function validEntries<T>(raw: unknown, parse: (v: unknown) => { success: boolean; data?: T }): Record<string, T> {
  const out: Record<string, T> = {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw)) {
    const r = parse(v);
    if (r.success && r.data !== undefined) out[k] = r.data;
  }
  return out;
}

// Best-effort manifest of what is valid, for semantic checks when the schema failed.
function partialManifest(data: Record<string, unknown>, issues: Parameters<typeof pruned>[1]): Manifest {
  const rest = pruned(data, issues) as Record<string, unknown>;
  return {
    version: 1,
    users: validEntries(rest["users"], (v) => UserSchema.safeParse(v)),
    daemons: validEntries(rest["daemons"], (v) => DaemonSchema.safeParse(v)),
    sshReceivers: validEntries(rest["sshReceivers"], (v) => SshReceiverSchema.safeParse(v)),
    watches: validEntries(rest["watches"], (v) => WatchSchema.safeParse(v)),
  };
}

function userNamesOf(data: Record<string, unknown>): Set<string> {
  const users = data["users"];
  return new Set(users && typeof users === "object" && !Array.isArray(users) ? Object.keys(users) : []);
}

/**
 * How the yaml library is asked to parse a manifest. `uniqueKeys: false`: its duplicate-key check
 * compares every key of a mapping with every other (80,000 modules took a minute); scanYaml finds
 * duplicates with one Set per mapping instead.
 */
export const YAML_OPTIONS = { uniqueKeys: false, prettyErrors: true, merge: false } as const;

function oneIssue(file: string, line: number, col: number, message: string): ManifestIssue {
  return { severity: "error", path: [], message, file, line, col };
}

// The yaml library's own errors, one sentence each (a stack overflow, which it reports at every
// level it unwinds, once).
function syntaxIssues(text: string, file: string, doc: Document): ManifestIssue[] {
  const overflow = doc.errors.findIndex((e) => /Maximum call stack/i.test(e.message));
  const errors = overflow < 0 ? doc.errors : [doc.errors[overflow] as (typeof doc.errors)[number]];
  return errors.map((e): ManifestIssue => {
    const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
    const first = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
    if (/Maximum call stack/i.test(first)) return oneIssue(file, pos.line, pos.col, "the manifest is nested too deeply");
    const key = (/^("[^"\n]*"|'[^'\n]*'|[^:\n]+?)\s*:/.exec(text.slice(e.pos[0]))?.[1] ?? "").replace(/^["']|["']$/g, "");
    const message = e.code === "DUPLICATE_KEY" ? `duplicate key "${key}": a key may appear only once in a mapping` : `YAML syntax error: ${first}`;
    return oneIssue(file, pos.line, pos.col, message);
  });
}

/** What the checks may know of the node: the identity of a path on disk, and the node's policy. */
export interface ParseContext {
  readonly identify?: PathIdentify;
  readonly policy?: NodePolicy;
}

/** Parses and validates manifest text. `file` is only used to label issues. */
export function parseManifest(text: string, file: string, context: ParseContext = {}): ParseResult {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_MANIFEST_BYTES) {
    return { ok: false, errors: [oneIssue(file, 1, 1, `the manifest is ${bytes} bytes, over the limit of ${MAX_MANIFEST_TEXT}; rtsync does not parse it`)], warnings: [] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, ...YAML_OPTIONS });
  if (doc.errors.length > 0) return { ok: false, errors: syntaxIssues(text, file, doc), warnings: [] };
  if (doc.contents === null) {
    const issue = error([], "the manifest is empty; it needs at least `version: 1`");
    return { ok: false, errors: place(file, doc, lines, [issue]), warnings: [] };
  }
  if (!isMap(doc.contents)) {
    const issue = error([], "the manifest must be a mapping of keys (version, users, daemons, watches, …), not a list or a single value");
    return { ok: false, errors: place(file, doc, lines, [issue]), warnings: [] };
  }
  const structure = scanYaml(doc);
  if (structure.length > 0) {
    const errors = structure.map((s) => ({ ...lines.linePos(s.offset), message: s.message })).map((s) => oneIssue(file, s.line, s.col, s.message));
    return { ok: false, errors, warnings: [] };
  }
  // scanYaml bounded what aliases add; the library's own count stays as a second guard.
  const data = doc.toJS({ maxAliasCount: MAX_ALIAS_VALUES }) as Record<string, unknown>;
  // jitless: zod would compile a parser per object schema (new Function) to parse one manifest once.
  const parsed = ManifestSchema.safeParse(data, { jitless: true });
  const manifest = parsed.success ? parsed.data : partialManifest(data, parsed.error.issues);
  const raw = [...(parsed.success ? [] : schemaIssues(ManifestSchema, data, parsed.error.issues)), ...checkManifest(manifest, userNamesOf(data), context.identify),
    ...(context.policy ? checkPolicy(manifest, context.policy, context.identify) : []),
  ];
  const issues = place(file, doc, lines, raw).sort(byPosition);
  const errors = issues.filter((i) => i.severity === "error");
  const warnings = issues.filter((i) => i.severity === "warning");
  if (!parsed.success || errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, manifest, warnings };
}
