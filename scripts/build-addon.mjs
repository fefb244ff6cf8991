// Builds rtsync's inotify addon (native/inotify, binding.gyp) at `npm ci` / `npm install`: the
// root package's `install` script. Plain JavaScript, because it runs before anything is built.
//
// It never fails the install: where the addon cannot be built (not Linux, no compiler, no Node
// headers), it says so in one line, leaves the reason in build/inotify-addon-error.txt for the
// loader (src/watch/sources/inotify/binding.ts) to report, and the watcher falls back to
// inotifywait, or chokidar where inotifywait is not installed (the line says which). Node's headers come from the running Node's own prefix (include/node), so
// node-gyp never tries to download them.
/* global process, console, URL */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const errorFile = path.join(root, "build", "inotify-addon-error.txt");

// The executable `name` on PATH, as the watcher will look for it, or undefined.
function onPath(name) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

// What `watcher: auto` picks without the addon (src/watch/sources/select.ts): inotifywait when installed, else chokidar.
function fallbackWatcher() {
  const inotifywait = onPath("inotifywait");
  return inotifywait === undefined ? "watches will use chokidar (inotifywait is not installed: apt-get install inotify-tools for it)" : `watches will use inotifywait (${inotifywait})`;
}

function giveUp(reason) {
  mkdirSync(path.dirname(errorFile), { recursive: true });
  writeFileSync(errorFile, `${reason}\n`);
  console.log(`rtsync: inotify addon not built (${reason.split("\n")[0]}); ${fallbackWatcher()}`);
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
  const lines = `${result.stderr ?? ""}${result.stdout ?? ""}`.split("\n");
  // node-gyp's own sentence ("gyp ERR! stack Error: `make` failed with exit code: 2") first, then the tool's lines before it.
  const stated = lines.map((l) => /\bError: (.+)$/.exec(l)?.[1]).filter((l) => l !== undefined);
  const output = lines.filter((l) => /error|not found|No such/i.test(l) && !/^gyp ERR! (configure|build) error/.test(l));
  const why = result.error?.message ?? ([...new Set([...stated, ...output])].slice(0, 5).join("\n") || `node-gyp exited with ${String(result.status)}`);
  giveUp(`node-gyp rebuild failed: ${why}`);
}
rmSync(errorFile, { force: true });
console.log("rtsync: inotify addon built (build/Release/rtsync_inotify.node)");
