import type { ManifestIssue } from "../manifest/issues.ts";

// Manifest issues and errors in --json documents, so `| jq` always gets JSON.

/** A manifest error or warning (with its line and column), or a warning about a state file. */
export interface IssueJson {
  readonly severity: "error" | "warning";
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly message: string;
}

/** A warning about what was found on the machine (e.g. a corrupt inventory being rebuilt). */
export function renderStateWarningJson(message: string): IssueJson {
  return { severity: "warning", message };
}

export function renderIssueJson(issue: ManifestIssue): IssueJson {
  return { severity: issue.severity, file: issue.file, line: issue.line, col: issue.col, message: issue.message };
}

/** The document a command prints with --json when it fails: `{ "error": { code, message, issues? } }`. */
export function renderErrorJson(code: string, message: string, issues: readonly ManifestIssue[] = []) {
  return { error: { code, message, ...(issues.length > 0 ? { issues: issues.map(renderIssueJson) } : {}) } };
}
