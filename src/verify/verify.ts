import { access, stat } from "node:fs/promises";
import { describeErrno, RtsyncError } from "../core/errors.ts";
import { findExecutable } from "../core/executables.ts";
import type { ResolvedManifest, ResolvedWatch } from "../manifest/resolve.ts";
import type { VerifyReport, WatchVerification } from "../resources/verify-report.ts";
import { watchFiles } from "../state/layout.ts";
import { buildVerifyArgs } from "./args.ts";
import { runComparison } from "./run.ts";

// `rtsync verify`: each watch's source against its target, read-only, by a dry run of the whole
// tree with the job's excludes (args.ts), read as missing / extra / different (itemize.ts).

export interface VerifyOptions {
  /** Only this watch (it must run on this node). */
  readonly watch?: string;
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

// Why rsync's exit code means the comparison did not finish.
function rsyncError(exitCode: number, messages: readonly string[]): string {
  const first = messages.find((m) => /@ERROR|rsync:|error/i.test(m)) ?? messages[0] ?? "no message";
  if (exitCode === 5 && /auth failed/.test(messages.join("\n"))) return `authentication failed: the rsync daemon refused the password (${first})`;
  return `rsync exited with code ${exitCode}: ${first}`;
}

async function verifyWatch(w: ResolvedWatch, rsync: string, checksum: boolean): Promise<WatchVerification> {
  const base = { name: w.name, source: w.source, target: w.targetUrl };
  const failed = (error: string): WatchVerification => ({ ...base, result: "error", missing: NONE, extra: NONE, different: NONE, error, durationMs: 0 });
  try {
    if (!(await stat(w.source)).isDirectory()) return failed(`the source ${w.source} is not a directory`);
  } catch (error) {
    return failed(`cannot read the source ${w.source}: ${describeErrno(error)}`);
  }
  const daemon = w.target.kind === "daemon";
  const needsPassword = w.target.kind === "daemon" && w.target.user !== undefined;
  const passwordFile = needsPassword ? watchFiles.password(w.dir) : undefined;
  if (passwordFile !== undefined && (await access(passwordFile).then(() => false, () => true))) {
    return failed(`no password file ${passwordFile} (verify uses the watch's own, which \`rtsync apply\` writes); run \`rtsync apply\` first`);
  }
  const args = buildVerifyArgs(
    { source: w.source, target: w.targetUrl, daemonTarget: daemon, exclude: w.exclude, ...(passwordFile === undefined ? {} : { passwordFile }) },
    { checksum },
  );
  const run = await runComparison(rsync, args);
  const { missing, extra, different } = run.tally;
  // 24: files vanished while rsync scanned (the tree is live); what it compared stands.
  if (run.exitCode !== 0 && run.exitCode !== 24) return { ...failed(rsyncError(run.exitCode, run.messages)), missing, extra, different, durationMs: run.durationMs };
  const same = missing.count + extra.count + different.count === 0;
  return { ...base, result: same ? "equal" : "different", missing, extra, different, durationMs: run.durationMs };
}

/** Compares each selected watch's source with its target. Only reads (rsync runs with --dry-run). */
export async function verifyManifest(m: ResolvedManifest, options: VerifyOptions): Promise<VerifyReport> {
  const watches = selectWatches(m, options.watch);
  const rsync = watches.length === 0 ? undefined : await findExecutable("rsync", options.pathVar);
  if (watches.length > 0 && rsync === undefined) {
    throw new RtsyncError("E_RSYNC_MISSING", "system", "rsync is not installed or not on PATH; install it (apt-get install rsync) and run again");
  }
  const results: WatchVerification[] = [];
  for (const w of watches) results.push(await verifyWatch(w, rsync ?? "rsync", options.checksum));
  const result = results.some((r) => r.result === "error") ? "error" : results.some((r) => r.result === "different") ? "different" : "equal";
  return { manifest: m.file, node: m.node, checksum: options.checksum, watches: results, result };
}
