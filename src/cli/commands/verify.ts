import { renderIssueJson } from "../../render/issues-json.ts";
import { renderVerify } from "../../render/verify-text.ts";
import { verifyManifest } from "../../verify/verify.ts";
import { loadForNode, printWarnings, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

// `rtsync verify`: exit 0 equal, 2 different, 1 error (a comparison that could not finish too).
export async function verifyCommand(file: string, opts: CommonOptions, io: Output, flags: Readonly<Record<string, unknown>>): Promise<number> {
  const { resolved, warnings } = await loadForNode(file, opts);
  const report = await verifyManifest(resolved, {
    ...(typeof flags["watch"] === "string" ? { watch: flags["watch"] } : {}),
    ...(typeof flags["target"] === "string" ? { target: flags["target"] } : {}),
    checksum: flags["checksum"] === true,
    pathVar: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
  });
  if (opts.json) io.json({ ...report, ...(warnings.length ? { warnings: warnings.map(renderIssueJson) } : {}) });
  else {
    printWarnings(warnings, io);
    for (const line of renderVerify(report, io.color)) io.out(line);
  }
  return report.result === "error" ? 1 : report.result === "different" ? 2 : 0;
}
