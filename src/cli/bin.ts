#!/usr/bin/env node

// The `rtsync` executable. exitCode rather than exit(), so buffered output is flushed first.
// `__watch` (the detached watcher that apply starts) skips the command-line parser: the watcher
// runs for months, and what it never loads costs it no memory.
const argv = process.argv.slice(2);
if (argv[0] === "__watch") {
  const { watchMain } = await import("./watch-main.ts");
  process.exitCode = await watchMain(argv.slice(1));
} else {
  const { main } = await import("./main.ts");
  process.exitCode = await main(argv);
}
