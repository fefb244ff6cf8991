import { spawn } from "node:child_process";
import { parseItemize } from "./itemize.ts";
import type { VerifyResult } from "./types.ts";

// Is the replica the source? `rsync -anc --delete --itemize-changes SRC/ REPLICA/` prints nothing
// when it is: same names, same content (checksums), same attributes.
export async function runVerify(source: string, replica: string): Promise<VerifyResult> {
  const args = ["-anc", "--delete", "--itemize-changes", `${source}/`, `${replica}/`];
  const child = spawn("rsync", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  if (code !== 0 && code !== 24) throw new Error(`verification rsync exited ${code}: ${err.trim()}`);
  return parseItemize(out);
}
