import { messageOf } from "../../core/errors.ts";
import { formatIssue } from "../../manifest/issues.ts";
import { loadManifest } from "../../manifest/load.ts";
import { resolve } from "node:path";
import { readPasswordModeWarnings } from "../../manifest/password-modes.ts";
import { placeInText } from "../../manifest/place.ts";
import { pathIdentifier } from "../../manifest/path-identity.ts";
import { loadPolicy } from "../../manifest/policy/load.ts";
import { resolveManifest } from "../../manifest/resolve.ts";
import type { Manifest } from "../../manifest/schema.ts";
import { renderIssueJson } from "../../render/issues-json.ts";
import { nodeName, warningsForNode, type CommonOptions } from "../manifest-arg.ts";
import type { Output } from "../output.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : word.endsWith("h") ? "es" : "s"}`;
}

/** One line: what the manifest declares, over every node. */
export function summarise(m: Manifest): string {
  const daemons = Object.values(m.daemons);
  const modules = daemons.reduce((n, d) => n + Object.keys(d.modules).length, 0);
  const receivers = Object.keys(m.sshReceivers).length;
  return [plural(daemons.length, "daemon"), plural(modules, "module"), plural(Object.keys(m.users).length, "user"), plural(Object.keys(m.watches).length, "watch"), ...(receivers > 0 ? [plural(receivers, "sshReceiver")] : [])].join(", ");
}

// What runs on `node`: `daemons d1; watches w1, w2`, or "nothing".
function nodeSummary(m: Manifest, node: string): string {
  const r = resolveManifest(m, { manifestFile: "/", node, uid: 0, env: {}, homeDir: "/" });
  const parts = [
    r.daemons.length ? `daemons ${r.daemons.map((d) => d.name).join(", ")}` : "",
    r.sshReceivers.length ? `sshReceivers ${r.sshReceivers.map((x) => x.name).join(", ")}` : "",
    r.watches.length ? `watches ${r.watches.map((w) => w.name).join(", ")}` : "",
  ];
  return parts.filter(Boolean).join("; ") || "nothing";
}

interface SourceLine {
  readonly name: string;
  readonly source: string;
  readonly why: string;
}

// Which event source each watch would run here, and why (`auto` picks rtsync's inotify addon,
// else inotifywait, else chokidar). Loaded only when there are watches: it loads the addon.
async function readSourceLines(m: Manifest, node: string | undefined): Promise<SourceLine[]> {
  const watches = Object.entries(m.watches).filter(([, w]) => node === undefined || w.nodes === undefined || w.nodes.includes(node));
  if (watches.length === 0) return [];
  const [{ readWatcherChoice }, { findExecutable }] = await Promise.all([import("../../watch/sources/select.ts"), import("../../core/executables.ts")]);
  const inotifywait = await findExecutable("inotifywait", process.env["PATH"] ?? "/usr/bin:/bin");
  return watches.map(([name, w]) => {
    const choice = readWatcherChoice(w.watcher, inotifywait);
    return { name, source: choice.source, why: choice.why };
  });
}

// What this machine's rsync means for the manifest's daemons: apply refuses an rsync older than
// 3.4.1 and warns below 3.5.0; validate says so without failing (the manifest may be meant for
// other machines).
async function readRsyncLines(m: Manifest, node: string | undefined, accept: string | undefined): Promise<string[]> {
  const daemons = Object.values(m.daemons).some((d) => node === undefined || d.nodes === undefined || d.nodes.includes(node));
  if (!daemons) return [];
  const { readRsyncVersionWarnings } = await import("../../reconcile/rsync-version.ts");
  try {
    return await readRsyncVersionWarnings(process.env["PATH"] ?? "/usr/bin:/bin", accept);
  } catch (e) {
    return [`${messageOf(e)} (apply refuses to run the daemons here)`];
  }
}

// With --node, what this machine says of that node's ssh settings (the identity file's owner and
// mode, a knownHosts file, rrsync for a receiver): errors like the manifest's own. Without it the
// manifest may be meant for other machines (apply checks its own node always).
async function withMachineChecks(result: Awaited<ReturnType<typeof loadManifest>>, file: string, node: string | undefined): Promise<Awaited<ReturnType<typeof loadManifest>>> {
  if (!result.ok || node === undefined) return result;
  const { readSshFileProblems } = await import("../../reconcile/ssh-files.ts");
  const problems = await readSshFileProblems(result.manifest, node, process.getuid?.() ?? 0);
  if (problems.length === 0) return result;
  return { ok: false, errors: placeInText(result.text, file, problems), warnings: result.warnings, file: result.file, text: result.text };
}

// `rtsync validate`: every error and warning as FILE:LINE:COL, exit 1 when any error.
export async function validateCommand(file: string, opts: CommonOptions, io: Output): Promise<number> {
  // With --policy (or /etc/rtsync/policy.yaml), also whether this node's policy admits it.
  const policy = await loadPolicy(opts.policy);
  const loaded = await loadManifest(file, { identify: pathIdentifier(), ...(policy ? { policy } : {}) });
  const node = opts.node === undefined ? undefined : nodeName(opts);
  const result = await withMachineChecks(loaded, file, node);
  // With --node, also whether that node runs anything (a typo or an FQDN runs nothing).
  const modes = result.ok ? placeInText(result.text, file, await readPasswordModeWarnings(result.manifest, resolve(process.cwd(), file))) : [];
  const own = [...result.warnings, ...modes];
  const warnings = result.ok && node !== undefined ? warningsForNode({ ...result, warnings: own }, file, node, true) : own;
  const issues = [...(result.ok ? [] : result.errors), ...warnings].sort((a, b) => a.line - b.line || a.col - b.col);
  const sources = result.ok ? await readSourceLines(result.manifest, node) : [];
  const rsync = result.ok ? await readRsyncLines(result.manifest, node, policy?.policy.rsync?.acceptVersion) : [];
  if (opts.json) {
    io.json({
      file,
      valid: result.ok,
      ...(result.ok ? { summary: summarise(result.manifest) } : {}),
      ...(result.ok && node !== undefined ? { node, runs: nodeSummary(result.manifest, node) } : {}),
      ...(sources.length > 0 ? { eventSources: sources } : {}),
      ...(rsync.length > 0 ? { rsync } : {}),
      issues: issues.map(renderIssueJson),
    });
    return result.ok ? 0 : 1;
  }
  for (const issue of issues) io.err(formatIssue(issue));
  if (!result.ok) {
    const n = result.errors.length;
    io.err(`${file}: invalid, ${plural(n, "error")}${warnings.length ? `, ${plural(warnings.length, "warning")}` : ""}`);
    return 1;
  }
  const w = warnings.length ? ` (${plural(warnings.length, "warning")})` : "";
  io.out(`${file}: valid: ${summarise(result.manifest)}${w}`);
  if (node !== undefined) io.out(`node ${node} runs: ${nodeSummary(result.manifest, node)}`);
  for (const l of sources) io.out(`watch ${l.name}: event source ${l.source} (${l.why})`);
  for (const l of rsync) io.err(`rtsync: warning: ${l}`);
  return 0;
}
