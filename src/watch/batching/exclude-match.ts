import { ancestorsOf, bytePathFromText, type BytePath } from "../byte-path.ts";

// rsync's exclude-pattern rules, applied to events so that changes to excluded files start no run.
// rsync applies the same patterns (--exclude) to every run, so this is an optimisation: a pattern
// it gets slightly wrong costs an empty run, never a wrongly sent or missed file.

interface CompiledRule {
  readonly regex: RegExp;
  readonly dirOnly: boolean;
}

/** Whether a changed path is excluded; `isDir` undefined means "not known". */
export type ExcludeMatcher = (path: BytePath, isDir: boolean | undefined) => boolean;

// Translates an rsync wildcard pattern (already stripped of anchors and trailing slashes).
function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "\\" && i + 1 < glob.length) {
      out += escapeChar(glob[++i] as string);
    } else if (c === "*") {
      if (glob[i + 1] === "*") {
        out += ".*";
        while (glob[i + 1] === "*") i++;
      } else out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) out += "\\[";
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith("!")) cls = `^${cls.slice(1)}`;
        out += `[${cls.replace(/\\(?!\])/g, "\\\\")}]`;
        i = end;
      }
    } else out += escapeChar(c);
  }
  return out;
}

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

// Compiles one exclude pattern the way rsync reads `--exclude=PATTERN`.
export function compileExcludeRule(pattern: string): CompiledRule | undefined {
  let p = bytePathFromText(pattern);
  const dirOnly = p.endsWith("/") && !p.endsWith("/***/");
  p = p.replace(/\/+$/, "");
  const anchored = p.startsWith("/");
  if (anchored) p = p.replace(/^\/+/, "");
  if (p === "") return undefined;
  let tail = "";
  if (p.endsWith("/***")) {
    p = p.slice(0, -4);
    tail = "(?:/.*)?";
  }
  const body = globToRegex(p) + tail;
  const prefix = anchored ? "^" : "^(?:.*/)?";
  return { regex: new RegExp(`${prefix}${body}$`, "s"), dirOnly };
}

/** A matcher for a list of exclude patterns; a path is excluded when it or any parent matches. */
export function buildExcludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const rules = patterns.map(compileExcludeRule).filter((r): r is CompiledRule => r !== undefined);
  if (rules.length === 0) return () => false;
  const matches = (p: BytePath, isDir: boolean | undefined): boolean =>
    rules.some((r) => (!r.dirOnly || isDir === true) && r.regex.test(p));
  return (path, isDir) => {
    if (matches(path, isDir)) return true;
    return ancestorsOf(path).some((dir) => matches(dir, true));
  };
}
