#!/usr/bin/env node

// The watcher's own executable (dist/watcher/watcher.js), which apply starts as
// `node dist/watcher/watcher.js __host STATEDIR` (the watch host; `__watch SPEC.json`, one job alone). It is a bundle of its own, not a chunk of the
// CLI's: a chunk shared with the CLI drags in whatever the CLI shares with it (zod's core, ~500 KB,
// measured ~1.5 MB of the watcher's resident memory), and the watcher runs for months.
import { hostMain } from "./host-main.ts";
import { watchMain } from "./watch-main.ts";

const [marker, ...rest] = process.argv.slice(2);
if (marker === "__host") {
  process.exitCode = await hostMain(rest);
} else if (marker === "__watch") {
  process.exitCode = await watchMain(rest);
} else {
  process.stderr.write("rtsync: usage: node watcher.js __host STATEDIR | __watch SPEC.json (started by `rtsync apply`)\n");
  process.exitCode = 1;
}
