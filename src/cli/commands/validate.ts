import { formatIssue } from "../../manifest/issues.ts";
import { loadManifest } from "../../manifest/load.ts";
import type { Manifest } from "../../manifest/schema.ts";
import type { Output } from "../output.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** One line: what the manifest declares, over every node. */
export function summarise(m: Manifest): string {
  const daemons = Object.values(m.daemons);
  const modules = daemons.reduce((n, d) => n + Object.keys(d.modules).length, 0);
  return [
    plural(daemons.length, "daemon"),
    plural(modules, "module"),
    plural(Object.keys(m.users).length, "user"),
    plural(Object.keys(m.watches).length, "watch"),
  ].join(", ").replace(/watchs/, "watches");
}

// `rtsync validate`: every error and warning as FILE:LINE:COL, exit 1 when any error.
export async function validateCommand(file: string, io: Output): Promise<number> {
  const result = await loadManifest(file);
  const issues = [...(result.ok ? [] : result.errors), ...result.warnings].sort((a, b) => a.line - b.line || a.col - b.col);
  for (const issue of issues) io.err(formatIssue(issue));
  if (!result.ok) {
    const n = result.errors.length;
    io.err(`${file}: invalid, ${plural(n, "error")}${result.warnings.length ? `, ${plural(result.warnings.length, "warning")}` : ""}`);
    return 1;
  }
  const w = result.warnings.length ? ` (${plural(result.warnings.length, "warning")})` : "";
  io.out(`${file}: valid: ${summarise(result.manifest)}${w}`);
  return 0;
}
