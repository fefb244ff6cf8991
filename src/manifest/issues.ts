import type { PathSegment } from "./positions.ts";

// One finding about a manifest, before it is given a line and column.
export interface RawIssue {
  readonly severity: "error" | "warning";
  readonly path: readonly PathSegment[];
  readonly message: string;
  /** Point at the key rather than the value (unknown keys, bad names). */
  readonly atKey?: boolean;
  /**
   * A second place the message names (the other side of a collision): rendered as
   * `message (FILE:LINE:COL)rest`, so both positions are in one line.
   */
  readonly related?: RelatedPlace;
}

export interface RelatedPlace {
  readonly path: readonly PathSegment[];
  readonly atKey?: boolean;
  /** Text after the related position, e.g. "; each file rtsync writes must have one purpose". */
  readonly rest: string;
}

// A finding with its place in the source: what `validate` prints as FILE:LINE:COL: message.
export interface ManifestIssue extends RawIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function error(path: readonly PathSegment[], message: string, atKey = false): RawIssue {
  return { severity: "error", path, message, ...(atKey ? { atKey } : {}) };
}

export function warning(path: readonly PathSegment[], message: string): RawIssue {
  return { severity: "warning", path, message };
}

/** An error that also names a second place: `message (FILE:LINE:COL)rest`. */
export function errorWith(path: readonly PathSegment[], message: string, related: RelatedPlace): RawIssue {
  return { severity: "error", path, message, related };
}

/** `daemons.backup.modules.data.path`, `exclude[2]`. */
export function dottedPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((out, seg) => (typeof seg === "number" ? `${out}[${seg}]` : out ? `${out}.${seg}` : seg), "");
}

/** FILE:LINE:COL: message, or FILE:LINE:COL: warning: message. */
export function formatIssue(issue: ManifestIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  return issue.severity === "warning" ? `${where}: warning: ${issue.message}` : `${where}: ${issue.message}`;
}
