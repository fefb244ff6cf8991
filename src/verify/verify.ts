import { access, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { describeErrno, RtsyncError } from "../core/errors.ts";
import { findExecutable } from "../core/executables.ts";
import { describeHostKeyFailure, describeRrsyncRefusal } from "../core/ssh-command.ts";
import type { ResolvedManifest, ResolvedTarget, ResolvedWatch } from "../manifest/resolve.ts";
import { parseTarget, targetKey } from "../manifest/target.ts";
import type { VerifyReport, WatchVerification } from "../resources/verify-report.ts";
import { buildVerifyArgs } from "./args.ts";
import { runComparison } from "./run.ts";

// `rtsync verify`: each watch's source against each of its targets, read-only, by a dry run of
// the whole tree with the job's excludes (args.ts), read as missing / extra / different
// (itemize.ts). One result per (watch, target): a watch with two targets is two comparisons.

export interface VerifyOptions {
  /** Only this watch (it must run on this node). */
  readonly watch?: string;
  /** Only this target of the selected watches, in any spelling of it (a URL, `host::module`, a directory). */
  readonly target?: string;
  /** Compare contents, not size and modification time. */
  readonly checksum: boolean;
  /** PATH to find rsync on. */
  readonly pathVar: string;
}

const NONE = { count: 0, sample: [] };

// The watches to compare: all of this node's, or the one named.
function selectWatches(m: ResolvedManifest, name: string | undefined): readonly ResolvedWatch[] {
  if (name === undefined) return m.watches;
  const w = m.watches.find((x) => x.name === name);
  if (w !== undefined) return [w];
  const here = m.watches.map((x) => x.name);
  throw new RtsyncError(
    "E_USAGE",
    "user",
    `no watch ${name} runs on node ${m.node}${here.length > 0 ? ` (its watches: ${here.join(", ")})` : " (it has no watches)"}; check --watch and --node`,
  );
}

// Each (watch, target) pair to compare: every target, or those `--target` names (compared by
// their key, so `host::module` finds `rsync://user@host:873/module`).
function selectTargets(watches: readonly ResolvedWatch[], text: string | undefined): Array<{ readonly w: ResolvedWatch; readonly t: ResolvedTarget }> {
  const all = watches.flatMap((w) => w.targets.map((t) => ({ w, t })));
  if (text === undefined) return all;
  const parsed = parseTarget(text);
  const key = parsed.ok ? targetKey(parsed.target) : undefined;
  const picked = all.filter(({ t }) => t.key === key || t.url === text);
  if (picked.length > 0) return picked;
  const known = [...new Set(all.map(({ t }) => t.url))];
  throw new RtsyncError(
    "E_USAGE",
    "user",
    `no target ${text} among ${watches.length === 1 ? `watch ${watches[0]?.name ?? ""}'s` : "the watches'"} targets${known.length > 0 ? ` (${known.join(", ")})` : ""}; check --target`,
  );
}

// Why rsync's exit code means the comparison did not finish.
function rsyncError(exitCode: number, messages: readonly string[]): string {
  const first = messages.find((m) => /@ERROR|rsync:|error/i.test(m)) ?? messages[0] ?? "no message";
  if (exitCode === 5 && /auth failed/.test(messages.join("\n"))) return `authentication failed: the rsync daemon refused the password (${first})`;
  return `rsync exited with code ${exitCode}: ${first}`;
}

async function verifyTarget(w: ResolvedWatch, t: ResolvedTarget, rsync: string, checksum: boolean, ssh: string | undefined): Promise<WatchVerification> {
  const base = { name: w.name, source: w.source, target: t.url, key: t.key };
  const failed = (error: string): WatchVerification => ({ ...base, result: "error", missing: NONE, extra: NONE, different: NONE, error, durationMs: 0 });
  try {
    if (!(await stat(w.source)).isDirectory()) return failed(`the source ${w.source} is not a directory`);
  } catch (error) {
    return failed(`cannot read the source ${w.source}: ${describeErrno(error)}`);
  }
  const passwordFile = t.passwordFile;
  if (passwordFile !== undefined && (await access(passwordFile).then(() => false, () => true))) {
    return failed(`no password file ${passwordFile} (verify uses the watch's own, which \`rtsync apply\` writes); run \`rtsync apply\` first`);
  }
  const sshSpec =
    t.ssh === undefined || t.target.kind !== "ssh"
      ? undefined
      : { binary: ssh ?? "/usr/bin/ssh", identityFile: t.ssh.identityFile, port: t.ssh.port, knownHostsFile: t.ssh.knownHostsFile, controlPath: t.ssh.controlPath, host: t.target.host, pinnedAt: t.ssh.pinnedAt };
  if (sshSpec !== undefined) await mkdir(dirname(sshSpec.controlPath), { recursive: true, mode: 0o700 });
  const args = buildVerifyArgs(
    { source: w.source, target: t.url, daemonTarget: t.target.kind === "daemon", exclude: w.exclude, ...(passwordFile === undefined ? {} : { passwordFile }), ...(sshSpec === undefined ? {} : { ssh: sshSpec }) },
    { checksum },
  );
  const run = await runComparison(rsync, args);
  const { missing, extra, different } = run.tally;
  // 24: files vanished while rsync scanned (the tree is live); what it compared stands.
  if (run.exitCode !== 0 && run.exitCode !== 24) {
    const why = (sshSpec === undefined ? undefined : (describeHostKeyFailure(run.messages.join("\n"), sshSpec) ?? describeRrsyncRefusal(run.messages))) ?? rsyncError(run.exitCode, run.messages);
    return { ...failed(why), missing, extra, different, durationMs: run.durationMs };
  }
  const same = missing.count + extra.count + different.count === 0;
  return { ...base, result: same ? "equal" : "different", missing, extra, different, durationMs: run.durationMs };
}

/** Compares each selected watch's source with each of its targets (or the one `--target` names). Only reads (rsync runs with --dry-run). */
export async function verifyManifest(m: ResolvedManifest, options: VerifyOptions): Promise<VerifyReport> {
  const pairs = selectTargets(selectWatches(m, options.watch), options.target);
  const rsync = pairs.length === 0 ? undefined : await findExecutable("rsync", options.pathVar);
  if (pairs.length > 0 && rsync === undefined) {
    throw new RtsyncError("E_RSYNC_MISSING", "system", "rsync is not installed or not on PATH; install it (apt-get install rsync) and run again");
  }
  // One target after the other: each dry run reads the whole source tree.
  const results: WatchVerification[] = [];
  const ssh = pairs.some(({ t }) => t.ssh !== undefined) ? await findExecutable("ssh", options.pathVar) : undefined;
  for (const { w, t } of pairs) results.push(await verifyTarget(w, t, rsync ?? "rsync", options.checksum, ssh));
  const result = results.some((r) => r.result === "error") ? "error" : results.some((r) => r.result === "different") ? "different" : "equal";
  return { manifest: m.file, node: m.node, checksum: options.checksum, watches: results, result };
}
