import { ancestorsOf, type BytePath } from "../byte-path.ts";

// The file list of an incremental run, in lsyncd's proven shape: rsync reads it with
// `--from0 --include-from=-` and excludes everything else (`--exclude=*`), so it visits only the
// listed paths and their parent directories, and never scans the rest of the tree.
//
//   /a/           every parent directory of a listed path (else rsync never descends into it)
//   /a/b/
//   /a/b/f        a changed file (or a directory whose own attributes changed)
//   /d            a directory created, moved in, moved away or deleted:
//   /d/***          itself and everything under it
//
// A listed path missing on the source is deleted on the target (`--delete`); unlisted paths
// are excluded and so protected from deletion.

const WILD = /[*?[]/;

// rsync matches a pattern with no wildcard literally and one with wildcards through wildmatch,
// where `\` escapes; so escape only what will be read as a wildcard pattern.
export function buildPattern(path: BytePath, suffix: "" | "/" | "/***"): string {
  const anchored = `/${path}`;
  if (suffix !== "/***" && !WILD.test(anchored)) return anchored + suffix;
  return anchored.replace(/[*?[\\]/g, "\\$&") + suffix;
}

/** The patterns of an incremental run, sorted, without entries a listed tree already covers. */
export function buildFilterPatterns(entries: ReadonlyMap<BytePath, boolean>): string[] {
  const paths = [...entries.keys()].sort();
  const trees = new Set<BytePath>();
  const parents = new Set<BytePath>();
  const lines: string[] = [];
  for (const path of paths) {
    const ancestors = ancestorsOf(path);
    if (ancestors.some((a) => trees.has(a))) continue;
    for (const a of ancestors) {
      if (parents.has(a)) continue;
      parents.add(a);
      lines.push(buildPattern(a, "/"));
    }
    if (entries.get(path) === true) {
      trees.add(path);
      lines.push(buildPattern(path, ""), buildPattern(path, "/***"));
    } else lines.push(buildPattern(path, ""));
  }
  return lines;
}

/** The NUL-separated list rsync reads on stdin, as raw bytes. */
export function buildFilterList(entries: ReadonlyMap<BytePath, boolean>): Buffer {
  const lines = buildFilterPatterns(entries);
  return Buffer.from(lines.length === 0 ? "" : `${lines.join("\0")}\0`, "latin1");
}
