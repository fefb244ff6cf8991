// Builds rtsync's inotify addon (native/inotify, binding.gyp) at `npm ci` / `npm install`: the
// root package's `install` script. Plain JavaScript, because it runs before anything is built.
//
// It never fails the install: where the addon cannot be built (not Linux, no compiler, no Node
// headers), it says so in one line, leaves the reason in build/inotify-addon-error.txt for the
// loader (src/watch/sources/inotify/binding.ts) to report, and the watcher falls back to
// inotifywait. Node's headers come from the running Node's own prefix (include/node), so
// node-gyp never tries to download them.
/* global process, console, URL */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const errorFile = path.join(root, "build", "inotify-addon-error.txt");

function giveUp(reason) {
  mkdirSync(path.dirname(errorFile), { recursive: true });
  writeFileSync(errorFile, `${reason}\n`);
  console.log(`rtsync: inotify addon not built (${reason.split("\n")[0]}); the inotifywait source will be used`);
  process.exit(0);
}

if (process.platform !== "linux") giveUp(`inotify is Linux-only (this is ${process.platform})`);

// npm passes its own node-gyp to lifecycle scripts; otherwise look beside npm.
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
].filter((p) => p !== undefined && p !== "");
const nodeGyp = candidates.find((p) => existsSync(p));
if (nodeGyp === undefined) giveUp("node-gyp not found (it ships with npm)");

const args = [nodeGyp, "rebuild"];
const prefix = path.resolve(path.dirname(process.execPath), "..");
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);

const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
if (result.error !== undefined || result.status !== 0) {
  const output = `${result.stderr ?? ""}${result.stdout ?? ""}`.split("\n").filter((l) => /error|not found|No such/i.test(l));
  const why = result.error?.message ?? (output.slice(0, 5).join("\n") || `node-gyp exited with ${String(result.status)}`);
  giveUp(`node-gyp rebuild failed: ${why}`);
}
rmSync(errorFile, { force: true });
console.log("rtsync: inotify addon built (build/Release/rtsync_inotify.node)");
