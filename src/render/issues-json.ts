import type { ManifestIssue } from "../manifest/issues.ts";

// Manifest issues and errors in --json documents, so `| jq` always gets JSON.

/** A manifest error or warning: where it is and what it says. */
export interface IssueJson {
  readonly severity: "error" | "warning";
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function renderIssueJson(issue: ManifestIssue): IssueJson {
  return { severity: issue.severity, file: issue.file, line: issue.line, col: issue.col, message: issue.message };
}

/** The document a command prints with --json when it fails: `{ "error": { code, message, issues? } }`. */
export function renderErrorJson(code: string, message: string, issues: readonly ManifestIssue[] = []) {
  return { error: { code, message, ...(issues.length > 0 ? { issues: issues.map(renderIssueJson) } : {}) } };
}
