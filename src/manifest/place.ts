import { LineCounter, parseDocument } from "yaml";
import type { ManifestIssue, RawIssue } from "./issues.ts";
import { positionOf } from "./positions.ts";

/**
 * Places a finding made after parsing (it needs the node, or the machine) at its line and column
 * of the manifest's text, as FILE:LINE:COL. Pure: parses `text` again, which costs a millisecond.
 */
export function placeInText(text: string, file: string, issues: readonly RawIssue[]): ManifestIssue[] {
  if (issues.length === 0) return [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: false });
  return issues.map((issue) => ({ ...issue, file, ...positionOf(doc, lines, issue.path, issue.atKey ?? false) }));
}
