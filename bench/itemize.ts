import type { VerifyResult } from "./types.ts";

// Classifies `rsync -anc --delete --itemize-changes SRC/ REPLICA/` output (pure).
//   "*deleting   x"   on the replica only          -> extra
//   ">f+++++++++ x"   on the source only           -> missing
//   ">fc........ x"   content differs (-c)         -> content
//   ".d..t...... x"   attributes only              -> attrs
export function parseItemize(output: string, sampleSize = 20): VerifyResult {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  let missing = 0;
  let extra = 0;
  let content = 0;
  let attrs = 0;
  for (const line of lines) {
    if (line.startsWith("*deleting")) extra++;
    else if (line.slice(2, 11).includes("+++")) missing++;
    else if (line[2] === "c" && line[1] !== "d") content++;
    else attrs++;
  }
  return { ok: lines.length === 0, missing, extra, content, attrs, sample: lines.slice(0, sampleSize) };
}

/** One short phrase for the table: "ok", or what differs. */
export function renderVerify(v: VerifyResult): string {
  if (v.ok) return "ok";
  const parts: string[] = [];
  if (v.missing > 0) parts.push(`${v.missing} missing`);
  if (v.extra > 0) parts.push(`${v.extra} extra`);
  if (v.content > 0) parts.push(`${v.content} differ`);
  if (v.attrs > 0) parts.push(`${v.attrs} attrs`);
  return parts.join(", ");
}
