import { spawn } from "node:child_process";
import { toolEnv } from "../core/tool-env.ts";
import { startTally, type Tally } from "./itemize.ts";

// Runs the comparing dry run and reads its itemized output as it comes: at a million differences
// the output is ~30 MB, so it is counted line by line, never held.

export interface ComparisonRun {
  readonly exitCode: number;
  readonly tally: Tally;
  /** The first lines rsync wrote to stderr. */
  readonly messages: readonly string[];
  readonly durationMs: number;
}

const STDERR_HEAD = 16_384;

export async function runComparison(binary: string, args: readonly string[]): Promise<ComparisonRun> {
  const started = performance.now();
  // A built environment: the caller's may hold a manifest's password variables (verify passes the
  // watch's own --password-file) or RSYNC_* variables that change what rsync does.
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env: toolEnv(process.env) });
  const tally = startTally();
  let partial = "";
  child.stdout.setEncoding("latin1").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) tally.add(line);
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    if (stderr.length < STDERR_HEAD) stderr += chunk;
  });
  const exitCode = await new Promise<number>((resolve) => {
    child.once("error", (e: NodeJS.ErrnoException) => {
      stderr += `cannot start ${binary}: ${e.message}\n`;
      resolve(-1);
    });
    child.once("close", (code) => resolve(code ?? -1));
  });
  if (partial !== "") tally.add(partial);
  const messages = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .slice(0, 10);
  return { exitCode, tally: tally.result(), messages, durationMs: Math.round(performance.now() - started) };
}
