import { CONNECT_TIMEOUT_ARG, IO_TIMEOUT_ARG } from "../core/rsync-timeouts.ts";
import { buildRshArg, type SshSpec } from "../core/ssh-command.ts";

// The dry run that compares a watch's source with its target. Pure. `-rlni --delete`: recursive,
// symlinks as symlinks, dry run, itemized, deletions listed: names, types, sizes, modification
// times and link targets, not owners or permissions (a daemon writing as nobody cannot keep
// them). --checksum compares contents instead of size and time: it reads every byte on both
// sides. The job's excludes apply, so what the watcher never sends is not a difference.

export interface VerifyTarget {
  readonly source: string;
  /** As rsync takes it: a local directory or rsync://[user@]host[:port]/module[/path]. */
  readonly target: string;
  readonly daemonTarget: boolean;
  /** The job's --password-file (a daemon user's). */
  readonly passwordFile?: string;
  readonly exclude: readonly string[];
  /** An ssh:// target: the lane's ssh (its master connection, when one is open, is reused). */
  readonly ssh?: SshSpec;
}

const dirArg = (p: string): string => (p.endsWith("/") ? p : `${p}/`);

export function buildVerifyArgs(t: VerifyTarget, options: { readonly checksum: boolean }): string[] {
  return [
    "-rlni",
    "--delete",
    ...(options.checksum ? ["--checksum"] : []),
    IO_TIMEOUT_ARG,
    ...(t.ssh === undefined ? [] : [buildRshArg(t.ssh)]),
    ...(t.daemonTarget ? ["--no-motd", CONNECT_TIMEOUT_ARG, ...(t.passwordFile === undefined ? [] : [`--password-file=${t.passwordFile}`])] : []),
    ...t.exclude.map((p) => `--exclude=${p}`),
    dirArg(t.source),
    dirArg(t.target),
  ];
}
