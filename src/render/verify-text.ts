import pc from "picocolors";
import type { DifferenceSet, VerifyReport, WatchVerification } from "../resources/verify-report.ts";

// `rtsync verify` as text. Pure. --json prints the report itself.

const SHOWN = 10;
const count = (n: number): string => n.toLocaleString("en-US");

function setLine(label: string, set: DifferenceSet): string | undefined {
  if (set.count === 0) return undefined;
  const shown = set.sample.slice(0, SHOWN);
  const more = set.count > shown.length ? `, ... (${count(set.count - shown.length)} more)` : "";
  return `  ${label} (${count(set.count)}): ${shown.join(", ")}${more}`;
}

function watchLines(w: WatchVerification, color: boolean): string[] {
  const n = w.missing.count + w.extra.count + w.different.count;
  const verdict = w.result === "equal" ? "equal" : w.result === "different" ? `${count(n)} difference${n === 1 ? "" : "s"}` : "ERROR";
  const head = `watch ${w.name}: ${w.source} -> ${w.target}: ${verdict}`;
  const paint = (s: string) => (color ? (w.result === "equal" ? pc.green(s) : pc.red(s)) : s);
  return [
    paint(head),
    ...[
      w.error === undefined ? undefined : `  error: ${w.error}`,
      setLine("missing on the target", w.missing),
      setLine("extra on the target", w.extra),
      setLine("different", w.different),
    ].filter((l): l is string => l !== undefined),
  ];
}

export function renderVerify(r: VerifyReport, color: boolean): string[] {
  const how = r.checksum ? "comparing contents (--checksum)" : "comparing sizes and modification times (--checksum compares contents)";
  const lines = [`rtsync verify: ${r.manifest} on node ${r.node}, ${how}`];
  for (const w of r.watches) lines.push(...watchLines(w, color));
  if (r.watches.length === 0) lines.push(`no watches for node ${r.node}`);
  lines.push(r.result === "equal" ? "equal" : r.result === "different" ? "DIFFERENT" : "ERROR");
  return lines;
}
