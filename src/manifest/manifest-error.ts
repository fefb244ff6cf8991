import { RtsyncError } from "../core/errors.ts";
import type { ManifestIssue } from "./issues.ts";

/** The manifest is invalid: every issue (errors and warnings) travels with the error. */
export class ManifestError extends RtsyncError {
  static {
    this.prototype.name = "ManifestError";
  }
  readonly issues: readonly ManifestIssue[];
  constructor(message: string, issues: readonly ManifestIssue[]) {
    super("E_MANIFEST", "user", message);
    this.issues = issues;
  }
}
