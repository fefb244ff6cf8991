#!/usr/bin/env node

// The watcher's own executable (dist/watcher/watcher.js), which apply starts as
// `node dist/watcher/watcher.js __watch SPEC.json`. It is a bundle of its own, not a chunk of the
// CLI's: a chunk shared with the CLI drags in whatever the CLI shares with it (zod's core, ~500 KB,
// measured ~1.5 MB of the watcher's resident memory), and the watcher runs for months.
import { watchMain } from "./watch-main.ts";

const [marker, ...rest] = process.argv.slice(2);
if (marker !== "__watch") {
  process.stderr.write("rtsync: usage: node watcher.js __watch SPEC.json (started by `rtsync apply`)\n");
  process.exitCode = 1;
} else {
  process.exitCode = await watchMain(rest);
}
