// The floor's file list: rsync include rules for exactly the changed paths (pure).
//
// `rsync -r --delete --from0 --include-from=- --exclude='*' SRC/ DEST/` with these rules visits
// only the listed paths and their parents; everything else is excluded and so protected from
// --delete. A listed path that no longer exists on the source is deleted on the receiver.

export interface ChangedPath {
  /** relative to the source root, "/"-separated, no leading "/" */
  readonly path: string;
  /** "file": the path itself; "tree": the path and everything under it (a new, moved or deleted directory) */
  readonly kind: "file" | "tree";
}

const GLOB = /[*?[]/;

// rsync treats a backslash as an escape only in patterns that contain wildcards.
function escapeGlob(segment: string): string {
  return segment.replace(/[\\*?[]/g, (c) => `\\${c}`);
}

function anchored(path: string, suffix: string): string {
  const wild = suffix.includes("*") || GLOB.test(path);
  return `/${wild ? escapeGlob(path) : path}${suffix}`;
}

/** Include rules, parents first, de-duplicated, in a stable order; end with an exclude of `*`. */
export function buildIncludeRules(changes: readonly ChangedPath[]): string[] {
  const rules = new Set<string>();
  for (const change of changes) {
    const parts = change.path.split("/").filter((p) => p !== "");
    for (let i = 1; i < parts.length; i++) rules.add(anchored(parts.slice(0, i).join("/"), "/"));
    const whole = parts.join("/");
    if (whole === "") continue;
    rules.add(change.kind === "tree" ? anchored(whole, "/***") : anchored(whole, ""));
  }
  return [...rules];
}
