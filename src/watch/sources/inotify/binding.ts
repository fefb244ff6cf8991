import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { messageOf } from "../../../core/errors.ts";

// Finds and loads the inotify addon that `npm ci` built (scripts/build-addon.mjs, binding.gyp).
// The module that imports this lives in src/watch/sources/inotify/ when run from source (vitest,
// tsx) and in dist/cli/ when bundled, so the addon is looked for in build/Release of every
// directory above it, the first one found wins.

/** An open inotify instance, as the addon hands it out (opaque). */
export type InotifyHandle = object & { readonly __inotify: unique symbol };

/** The addon's functions (native/inotify/inotify.c); errors are returned as -errno. */
export interface InotifyBinding {
  open(onReadable: () => void): InotifyHandle | number;
  addWatch(handle: InotifyHandle, path: Buffer, mask: number): number;
  rmWatch(handle: InotifyHandle, wd: number): number;
  read(handle: InotifyHandle, buffer: Buffer): number;
  pause(handle: InotifyHandle): number;
  resume(handle: InotifyHandle): number;
  close(handle: InotifyHandle): void;
  /** A directory's subdirectories by d_type, and its entries of unknown type: [dirs, unknown] (latin1), or -errno. */
  readSubdirs(path: Buffer): [string[], string[]] | number;
}

export type BindingLoad =
  | { readonly ok: true; readonly binding: InotifyBinding; readonly file: string }
  | { readonly ok: false; readonly reason: string };

const ADDON = path.join("build", "Release", "rtsync_inotify.node");
const BUILD_ERROR = path.join("build", "inotify-addon-error.txt");

/** Directories from `start` up to the filesystem root, nearest first. */
export function planAddonSearch(start: string): string[] {
  const dirs: string[] = [];
  for (let dir = start; ; dir = path.dirname(dir)) {
    dirs.push(dir);
    if (path.dirname(dir) === dir) return dirs;
  }
}

let cached: BindingLoad | undefined;

/** Loads the addon once per process; on failure, says why (in the words the install left). */
export function loadInotifyBinding(): BindingLoad {
  // Only from this package's own build/Release: rtsync runs as root, and a native module is code.
  cached ??= loadFrom(path.dirname(fileURLToPath(import.meta.url)));
  return cached;
}

function loadFrom(here: string): BindingLoad {
  if (process.platform !== "linux") return { ok: false, reason: `inotify is Linux-only (this is ${process.platform})` };
  let file: string | undefined;
  let buildError: string | undefined;
  {
    for (const dir of planAddonSearch(here)) {
      if (existsSync(path.join(dir, ADDON))) {
        file = path.join(dir, ADDON);
        break;
      }
      if (buildError === undefined && existsSync(path.join(dir, BUILD_ERROR))) {
        buildError = readFileSync(path.join(dir, BUILD_ERROR), "utf8").trim().split("\n")[0];
      }
      if (existsSync(path.join(dir, "package.json"))) break; // the package root: no further up
    }
  }
  if (file === undefined) {
    return { ok: false, reason: buildError ?? `${ADDON} is missing (the install did not build it; run npm rebuild rtsync)` };
  }
  try {
    const binding = createRequire(import.meta.url)(file) as InotifyBinding;
    return { ok: true, binding, file };
  } catch (error) {
    return { ok: false, reason: `cannot load ${file}: ${messageOf(error)}` };
  }
}
