#!/usr/bin/env node

// The `rtsync` executable. exitCode rather than exit(), so buffered output is flushed first.
// `__watch` (a watcher of one job) and `__host` (the watch host that apply starts) skip the command-line parser: the watcher
// runs for months, and what it never loads costs it no memory.
//
// Built, the CLI itself is dist/cli/rtsync.cjs, run with its V8 code cache (cli-bundle.ts); from
// source (tsx) there is no bundle beside this file and main.ts is imported as it is.
import { fileURLToPath } from "node:url";
import { parseCodeCacheMode, runCliBundle, type CliBundle } from "./cli-bundle.ts";

const argv = process.argv.slice(2);
if (argv[0] === "__watch") {
  const { watchMain } = await import("./watch-main.ts");
  process.exitCode = await watchMain(argv.slice(1));
} else if (argv[0] === "__host") {
  const { hostMain } = await import("./host-main.ts");
  process.exitCode = await hostMain(argv.slice(1));
} else {
  const bundled = runCliBundle(fileURLToPath(new URL("./rtsync.cjs", import.meta.url)), parseCodeCacheMode(process.env["RTSYNC_CODE_CACHE"]));
  // A computed specifier: the build must not pull main.ts into this entry's bundle.
  const fromSource = "./main.ts";
  const cli: CliBundle = bundled ?? ((await import(fromSource)) as CliBundle);
  process.exitCode = await cli.main(argv);
}
