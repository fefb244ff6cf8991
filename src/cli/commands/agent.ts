import { homedir } from "node:os";
import { isAbsolute, join, normalize, resolve } from "node:path";
import { RtsyncError } from "../../core/errors.ts";
import { parseInterval, parseListen } from "../../agent/flags.ts";
import { checkAllowedSigners } from "../../agent/git-verify.ts";
import { createAgentLog } from "../../agent/logger.ts";
import { startAgent, type AgentSource } from "../../agent/run.ts";
import { loadPolicy } from "../../manifest/policy/load.ts";
import type { NodePolicy } from "../../manifest/policy/schema.ts";
import { defaultStateDir } from "../../manifest/resolve.ts";
import { systemHost } from "../../resources/host.ts";
import { DEFAULT_MANIFEST, nodeName } from "../manifest-arg.ts";
import type { Output } from "../output.ts";
import { watcherCommand } from "../watcher-command.ts";

// `rtsync agent`: runs in the foreground until SIGTERM/SIGINT (exit 0); exit 1 when it cannot
// start (bad flags, cannot listen, cannot fetch its manifest). Logs JSON lines on stdout; with
// --json that error is one too.

export interface AgentFlags {
  readonly node?: string;
  readonly interval?: string;
  readonly listen?: string;
  readonly git?: string;
  readonly ref?: string;
  readonly path?: string;
  readonly checkout?: string;
  readonly allowedSigners?: string;
  readonly policy?: string;
  /** Start-up errors as a JSON log line (cli/main.ts prints them). */
  readonly json?: boolean;
}

const usage = (message: string) => new RtsyncError("E_AGENT", "user", message);


function sourceOf(file: string | undefined, flags: AgentFlags): AgentSource {
  if (flags.git === undefined) {
    if (flags.ref !== undefined || flags.path !== undefined || flags.checkout !== undefined || flags.allowedSigners !== undefined) throw usage("--ref, --path, --checkout and --allowed-signers go with --git URL");
    return { kind: "file", file: resolve(process.cwd(), file ?? DEFAULT_MANIFEST) };
  }
  if (file !== undefined) throw usage(`give either a MANIFEST (${file}) or --git URL, not both (the manifest comes from the repository: --path)`);
  const ref = flags.ref ?? "main";
  const path = normalize(flags.path ?? DEFAULT_MANIFEST);
  if (flags.git.startsWith("-") || ref.startsWith("-")) throw usage("--git and --ref may not start with '-'");
  if (isAbsolute(path) || path.startsWith("..")) throw usage(`--path ${flags.path} must be a relative path inside the repository`);
  const root = flags.checkout ? resolve(process.cwd(), flags.checkout) : join(defaultStateDir({ uid: process.getuid?.() ?? 0, env: process.env, homeDir: homedir() }), "git");
  return { kind: "git", git: { url: flags.git, ref, path, dir: root } };
}

/** The allowed-signers file of signed GitOps: --allowed-signers, else the node policy's git.allowedSigners. */
export function allowedSignersOf(flag: string | undefined, policy: NodePolicy | undefined): string | undefined {
  return flag ?? policy?.policy.git?.allowedSigners;
}

export async function agentCommand(file: string | undefined, flags: AgentFlags, _io: Output): Promise<number> {
  const intervalMs = parseInterval(flags.interval ?? "60s");
  if (intervalMs === undefined || intervalMs < 1000) throw usage(`--interval ${flags.interval} is not a duration of at least 1s (write it like 30s, 5m or 1h)`);
  const listen = flags.listen === undefined ? undefined : parseListen(flags.listen);
  if (flags.listen !== undefined && listen === undefined) throw usage(`--listen ${flags.listen} is not ADDRESS:PORT or PORT (e.g. 127.0.0.1:9873)`);
  const source = sourceOf(file, flags);
  const policy = await loadPolicy(flags.policy);
  // Signed GitOps: --allowed-signers, else the node policy's git.allowedSigners (a file manifest has no commits to verify).
  const signers = allowedSignersOf(flags.allowedSigners === undefined ? undefined : resolve(process.cwd(), flags.allowedSigners), policy);
  const allowedSigners = source.kind === "git" ? signers : undefined;
  if (allowedSigners !== undefined) await checkAllowedSigners(allowedSigners);
  const node = nodeName(flags);
  const log = createAgentLog(node);
  const agent = await startAgent({
    source,
    node,
    intervalMs,
    ...(listen ? { listen } : {}),
    env: process.env,
    host: systemHost(),
    selfCommand: watcherCommand(),
    log,
    ...(allowedSigners === undefined ? {} : { allowedSigners }),
    ...(policy ? { policy } : {}),
  });
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${signal}: stopping after the reconcile in flight (daemons and watchers keep running)`);
    agent.stop();
  };
  const onHup = (): void => agent.reload();
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  process.on("SIGHUP", onHup);
  try {
    await agent.done;
  } finally {
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    process.off("SIGHUP", onHup);
  }
  return 0;
}
