import { execa, type Options } from "execa";
import { fileURLToPath } from "node:url";

// Runs the built CLI (dist/, made by `npm test`'s build step) as a user would.
export const BIN = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url));
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr, for "never printed" assertions. */
  readonly all: string;
}

export async function rtsync(args: readonly string[], options: Options = {}): Promise<CliResult> {
  const r = await execa("node", [BIN, ...args], { reject: false, stdin: "ignore", all: true, cwd: REPO, ...options });
  return {
    exitCode: r.exitCode ?? -1,
    stdout: String(r.stdout ?? ""),
    stderr: String(r.stderr ?? ""),
    all: String(r.all ?? ""),
  };
}
