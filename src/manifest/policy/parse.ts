import { isMap, LineCounter, parseDocument } from "yaml";
import type { ManifestIssue } from "../issues.ts";
import { positionOf, type PathSegment } from "../positions.ts";
import { PolicySchema, type NodePolicy } from "./schema.ts";

// Policy text -> NodePolicy or every problem as FILE:LINE:COL: message. Pure.

export type PolicyParse = { readonly ok: true; readonly policy: NodePolicy } | { readonly ok: false; readonly errors: readonly ManifestIssue[] };

function issue(file: string, line: number, col: number, message: string): ManifestIssue {
  return { severity: "error", path: [], file, line, col, message };
}

export function parsePolicy(text: string, file: string): PolicyParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, merge: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((e) => issue(file, e.linePos?.[0].line ?? 1, e.linePos?.[0].col ?? 1, `YAML syntax error: ${e.message.split("\n")[0] ?? ""}`)) };
  }
  if (!isMap(doc.contents)) return { ok: false, errors: [issue(file, 1, 1, "the policy must be a mapping of keys (version, paths, sysctl, accounts, git, rsync)")] };
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const parsed = PolicySchema.safeParse(data);
  const at = (path: readonly PathSegment[], atKey = false) => positionOf(doc, lines, path, atKey);
  if (!parsed.success) {
    const errors = parsed.error.issues.flatMap((i) => {
      const path = i.path.filter((s): s is PathSegment => typeof s !== "symbol");
      if (i.code === "unrecognized_keys") {
        return i.keys.map((k) => {
          const p = at([...path, k], true);
          return issue(file, p.line, p.col, `unknown key "${k}" (a policy has version, paths, sysctl, accounts, git, rsync)`);
        });
      }
      const p = at(path);
      const name = path.length === 0 ? "policy" : path.map(String).join(".");
      return [issue(file, p.line, p.col, `${name} ${i.message}`)];
    });
    return { ok: false, errors };
  }
  const policy = parsed.data;
  const line = (key: "paths" | "sysctl" | "accounts" | "rsync") => (policy[key] === undefined ? {} : { [key]: at([key], true).line });
  return { ok: true, policy: { file, policy, lines: { ...line("paths"), ...line("sysctl"), ...line("accounts"), ...line("rsync") } } };
}
