import { execFileSync, spawnSync } from "node:child_process";
import { cpus, loadavg, release } from "node:os";
import { lsyncdVersion } from "./peers/lsyncd.ts";

// What a result file records about the machine and the code it measured.

function version(cmd: string, args: string[], pattern: RegExp): string | undefined {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) return undefined;
  return pattern.exec(`${r.stdout}${r.stderr}`)?.[1];
}

/**
 * Cores, CPU, kernel, Node, rsync, inotifywait and lsyncd versions, the checkout's commit, and the
 * load averages (1, 5, 15 min) at the call (the end of a run): a run that shared the machine shows there.
 */
export function describeMachine(repo: string): Record<string, unknown> {
  let commit: string | undefined;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repo, encoding: "utf8" }).trim();
  } catch {
    commit = undefined;
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    kernel: release(),
    node: process.version,
    rsync: version("rsync", ["--version"], /version\s+(\S+)/),
    inotifywait: version("inotifywait", ["--help"], /inotifywait\s+(\S+)/),
    lsyncd: lsyncdVersion(),
    rtsyncCommit: commit,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
