import { Command, CommanderError, Option } from "commander";
import { readPackageVersion } from "../core/build-record.ts";
import { messageOf, RtsyncError } from "../core/errors.ts";
import { formatIssue } from "../manifest/issues.ts";
import { ManifestError } from "../manifest/manifest-error.ts";
import { renderErrorJson } from "../render/issues-json.ts";
import type { AgentFlags } from "./commands/agent.ts";
import { DEFAULT_MANIFEST, type CommonOptions } from "./manifest-arg.ts";
import { processOutput, type Output } from "./output.ts";

// The command line: parses flags, lazy-loads the command, prints errors, picks the exit code.
// Exit codes (contract): every error 1; diff 2 for drift; status 3 for unhealthy.

const VERSION = readPackageVersion();

/**
 * Prints an error as one sentence (or, with --json, as a JSON document; `agent --json`: one JSON
 * log line on stdout, as the agent's log is) and returns its exit code.
 */
export function reportError(error: unknown, io: Output, json: boolean | "log-line"): 1 {
  const internal = !(error instanceof RtsyncError) || error.source === "internal";
  const message = internal ? `internal error, please report it with this text: ${messageOf(error)} (rtsync ${VERSION}, node ${process.version})` : error.message;
  const issues = error instanceof ManifestError ? error.issues : [];
  if (json === "log-line") {
    io.write(`${JSON.stringify({ level: "error", time: new Date().toISOString(), msg: message, ...renderErrorJson(error instanceof RtsyncError ? error.code : "E_INTERNAL", message, issues) })}\n`);
    return 1;
  }
  if (json) {
    io.json(renderErrorJson(error instanceof RtsyncError ? error.code : "E_INTERNAL", message, issues));
    return 1;
  }
  for (const issue of issues) io.err(formatIssue(issue));
  io.err(`rtsync: ${message}`);
  if (internal && process.env["RTSYNC_DEBUG"] && error instanceof Error && error.stack) io.err(error.stack);
  return 1;
}

interface Flags {
  node?: string;
  json?: boolean;
  policy?: string;
}

/** A command: the manifest argument, the common flags, and its own flags (by commander's camelCase name). */
type CommandFn = (file: string, opts: CommonOptions, io: Output, flags: Readonly<Record<string, unknown>>) => Promise<number>;

interface CommandInfo {
  readonly name: string;
  readonly description: string;
  readonly load: () => Promise<CommandFn>;
  readonly examples: readonly string[];
  /** Flags of this command only. */
  readonly options?: () => readonly Option[];
}

const COMMANDS: readonly CommandInfo[] = [
  {
    name: "validate",
    description: "check the manifest: every error as FILE:LINE:COL: message (exit 0 valid, 1 invalid)",
    load: async () => (await import("./commands/validate.ts")).validateCommand,
    examples: ["rtsync validate rtsync.yaml", "rtsync validate rtsync.yaml --node backup-1   # also say what runs there", "rtsync validate --json | jq '.issues[]'"],
  },
  {
    name: "diff",
    description: "show what apply would change on this node (exit 0 in sync, 2 drift, 1 error)",
    load: async () => (await import("./commands/diff.ts")).diffCommand,
    examples: ["rtsync diff rtsync.yaml", "rtsync diff rtsync.yaml --node inotify-slave", "rtsync diff --json | jq '.changes[].title'"],
  },
  {
    name: "apply",
    description: "converge this node to the manifest (exit 0 converged, 1 error or partial failure)",
    load: async () => (await import("./commands/apply.ts")).applyCommand,
    examples: [
      "RSYNC_BACKUP_PASSWORD=… rtsync apply /etc/rtsync/rtsync.yaml --node inotify-master",
      "rtsync apply --json | jq .summary",
      "rtsync apply rtsync.yaml --accept-source www   # the source of watch www is now a new disk: record it, resume",
    ],
    options: () => [new Option("--accept-source <watch>", "the source root of this watch changed on purpose (a new disk): record it as it is now and resume")],
  },
  {
    name: "status",
    description: "daemons and watchers of this node: running, last sync, pending changes (exit 0 healthy, 3 unhealthy, 1 error)",
    load: async () => (await import("./commands/status.ts")).statusCommand,
    examples: [
      "rtsync status rtsync.yaml",
      "rtsync status   # no rtsync.yaml here: what the agent applied (rtsync agent --git)",
      "rtsync status --json | jq '.watchers[] | {name, healthy, problem}'",
    ],
    options: () => [new Option("--state-dir <dir>", "without a manifest: read what the agent applied in this stateDir (default /var/lib/rtsync as root)")],
  },
  {
    name: "verify",
    description: "compare each watch's source with each of its targets, read-only: what is missing, extra or different there (exit 0 equal, 2 different, 1 error)",
    load: async () => (await import("./commands/verify.ts")).verifyCommand,
    examples: [
      "rtsync verify rtsync.yaml",
      "rtsync verify rtsync.yaml --watch backup-push --checksum   # reads every byte on both sides",
      "rtsync verify rtsync.yaml --watch backup-push --target rsync_backup@dr-site::backup   # one target of several",
      "rtsync verify --json | jq '.watches[] | {name, result, missing: .missing.count}'",
    ],
    options: () => [
      new Option("--watch <name>", "only this watch"),
      new Option("--target <target>", "only this target (any spelling of it) of the watches compared"),
      new Option("--checksum", "compare contents, not sizes and modification times (reads every file on both sides)"),
    ],
  },
  {
    name: "down",
    description: "stop this node's watchers and daemons that rtsync started for this manifest (exit 0, 1 on error)",
    load: async () => (await import("./commands/down.ts")).downCommand,
    examples: ["rtsync down rtsync.yaml", "rtsync down rtsync.yaml --node inotify-slave --json"],
  },
];

function examplesText(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;
}

// --policy on every command that reads a manifest.
function policyOption(): Option {
  return new Option("--policy <file>", "the node policy the manifest must stay inside (default /etc/rtsync/policy.yaml when it exists)");
}

function buildProgram(io: Output, state: { code: number; json: boolean }): Command {
  const program = new Command("rtsync")
    .description("rsync daemons, inotify limits and real-time watch jobs as config-as-code")
    .version(VERSION, "-V, --version", "rtsync's version and revision, the rsync and inotifywait found, whether the inotify addon loads")
    .showHelpAfterError("(run `rtsync --help` for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.block(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .addHelpText("after", examplesText(["rtsync validate rtsync.yaml", "rtsync diff rtsync.yaml", "rtsync apply rtsync.yaml && rtsync status rtsync.yaml"]));

  for (const info of COMMANDS) {
    const command = program
      .command(info.name)
      .description(info.description)
      .argument("[manifest]", "the manifest file", DEFAULT_MANIFEST)
      .addOption(new Option("--node <name>", "act for this node (default: this machine's short hostname)"))
      .addOption(new Option("--json", "print one JSON document instead of text (errors too)"))
      .addOption(policyOption());
    for (const option of info.options?.() ?? []) command.addOption(option);
    command.addHelpText("after", examplesText(info.examples)).action(async (file: string, flags: Flags & Record<string, unknown>) => {
      state.json = flags.json === true;
      const run = await info.load();
      state.code = await run(file, { ...(flags.node ? { node: flags.node } : {}), ...(flags.policy ? { policy: flags.policy } : {}), json: state.json }, io, flags);
    });
  }

  program
    .command("agent")
    .description("keep this node converged: reconcile at start, on manifest edits, on SIGHUP, every --interval and when a daemon or watcher dies (runs until SIGTERM; exit 1 when it cannot start)")
    .argument("[manifest]", `the manifest file (default ${DEFAULT_MANIFEST}; not with --git)`)
    .addOption(new Option("--node <name>", "act for this node (default: this machine's short hostname)"))
    .addOption(new Option("--interval <duration>", "repair drift (and fetch, with --git) this often: 30s, 5m, 1h").default("60s"))
    .addOption(new Option("--listen <addr:port>", "serve /metrics, /healthz and /livez here (a bare PORT listens on 127.0.0.1)"))
    .addOption(new Option("--git <url>", "pull the manifest from this git repository (a path or URL the system git can fetch)"))
    .addOption(new Option("--ref <ref>", "with --git: the branch or tag to follow (default main)"))
    .addOption(new Option("--path <file>", "with --git: the manifest's path in the repository (default rtsync.yaml)"))
    .addOption(new Option("--checkout <dir>", "with --git: where the working copy goes (default: STATEDIR/git of the default stateDir)"))
    .addOption(new Option("--allowed-signers <file>", "with --git: apply only commits whose SSH signature verifies against this allowed-signers file (git verify-commit); others are refused like an invalid manifest"))
    .addOption(new Option("--json", "an error that stops it from starting is a JSON log line on stdout too (its log always is JSON lines)"))
    .addOption(policyOption())
    .addHelpText(
      "after",
      examplesText([
        "rtsync agent /etc/rtsync/rtsync.yaml --listen 127.0.0.1:9873",
        "rtsync agent --git https://git.example.com/ops/replication.git --ref canary --path rtsync.yaml --interval 30s",
        "rtsync agent --git ssh://git@git.example.com/ops/replication.git --allowed-signers /etc/rtsync/allowed_signers",
        "systemctl reload rtsync-agent   # SIGHUP: reconcile now",
      ]),
    )
    .action(async (file: string | undefined, flags: AgentFlags) => {
      const { agentCommand } = await import("./commands/agent.ts");
      state.code = await agentCommand(file, flags, io);
    });

  program
    .command("schema")
    .description("print the manifest's JSON Schema (the same as schemas/rtsync.schema.json)")
    .addHelpText("after", examplesText(["rtsync schema > rtsync.schema.json"]))
    .action(async () => {
      state.code = (await import("./commands/schema.ts")).schemaCommand(io);
    });

  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  // `rtsync --version`: the build and what this machine gives it (cli/version.ts), not the bare number.
  if (argv.length >= 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    const { readVersionReport, renderVersion } = await import("./version.ts");
    const report = await readVersionReport(VERSION);
    if (argv.includes("--json")) io.json(report);
    else for (const line of renderVersion(report)) io.out(line);
    return 0;
  }
  const state = { code: 0, json: argv.includes("--json") };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    return reportError(e, io, state.json && argv[0] === "agent" ? "log-line" : state.json);
  }
}
