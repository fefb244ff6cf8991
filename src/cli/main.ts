import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { messageOf, RtsyncError } from "../core/errors.ts";
import { DEFAULT_MANIFEST } from "./manifest-arg.ts";
import { processOutput, type Output } from "./output.ts";

// The command line: parses flags, lazy-loads the command, prints errors, picks the exit code.
// The only place that calls process.exit.

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Prints an error as one sentence and returns its exit code (every error exits 1). */
export function reportError(error: unknown, io: Output): 1 {
  if (error instanceof RtsyncError && error.source !== "internal") io.err(`rtsync: ${error.message}`);
  else {
    io.err(`rtsync: internal error, please report it with this text: ${messageOf(error)}`);
    io.err(`rtsync ${VERSION}, node ${process.version}`);
    if (process.env["RTSYNC_DEBUG"] && error instanceof Error && error.stack) io.err(error.stack);
  }
  return 1;
}

interface CommonOpts {
  node?: string;
  json?: boolean;
}

function buildProgram(io: Output, setExit: (code: number) => void): Command {
  const program = new Command("rtsync")
    .description("rsync daemons, inotify limits and real-time watch jobs as config-as-code")
    .version(VERSION)
    .showHelpAfterError("(run `rtsync --help` for usage)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  const manifestArg = `manifest file (default: ${DEFAULT_MANIFEST})`;
  const nodeOpt = () => new Option("--node <name>", "the node to act for (default: this machine's hostname)");
  const run = (fn: () => Promise<number>) => async () => setExit(await fn());

  program
    .command("validate")
    .description("check the manifest; errors as FILE:LINE:COL: message (exit 0 valid, 1 invalid)")
    .argument("[manifest]", manifestArg, DEFAULT_MANIFEST)
    .action(async (file: string) => {
      const { validateCommand } = await import("./commands/validate.ts");
      setExit(await validateCommand(file, io));
    });

  program
    .command("schema")
    .description("print the manifest's JSON Schema")
    .action(run(async () => (await import("./commands/schema.ts")).schemaCommand(io)));

  for (const [name, description] of [
    ["diff", "show the plan: what apply would change (exit 0 in sync, 2 drift, 1 error)"],
    ["apply", "converge this node to the manifest (exit 0 converged, 1 error or partial failure)"],
    ["status", "daemons and watchers of this node (exit 0 healthy, 3 unhealthy, 1 error)"],
    ["down", "stop this node's watchers and daemons (exit 0, 1 on error)"],
  ] as const) {
    const cmd = program.command(name).description(description).argument("[manifest]", manifestArg, DEFAULT_MANIFEST).addOption(nodeOpt());
    if (name !== "down") cmd.option("--json", "print one JSON document instead of text");
    cmd.action(async (file: string, opts: CommonOpts) => {
      const commands = await import("./commands/reconcile.ts");
      setExit(await commands[name](file, { ...(opts.node ? { node: opts.node } : {}), json: opts.json === true }, io));
    });
  }

  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    return reportError(e, io);
  }
}
