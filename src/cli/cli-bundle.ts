import { closeSync, constants, fstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { buildCacheFile, parseBundleId, parseCacheFile, type CacheIdentity } from "./code-cache.ts";

// Runs the CLI's CommonJS bundle (dist/cli/rtsync.cjs) with a V8 code cache beside it, so a
// command does not compile the CLI's JavaScript again at every start. Node 20 has no compile
// cache for modules (module.enableCompileCache is Node >= 22.1), but vm.Script takes V8's cached
// data for a script. The build makes the cache; a cache that is missing, damaged, made for another
// build or by another node is not used (V8 then compiles as without one) and is made again when
// the command ends, if rtsync may write there: the bundle is the running user's, and the directory
// is writable (a read-only install simply runs without one).
//
// The cache is code: it is only read when it has the bundle's owner and nobody else may write it.

/** What the CLI bundle exports (src/cli/main.ts). */
export interface CliBundle {
  main(argv: readonly string[]): Promise<number>;
}

/** `on`: use and repair the cache; `off`: neither read nor write it; `refresh`: also write it when it was fine. */
export type CodeCacheMode = "on" | "off" | "refresh";

/** The mode from RTSYNC_CODE_CACHE (`off`, `refresh`); anything else is `on`. Pure. */
export function parseCodeCacheMode(value: string | undefined): CodeCacheMode {
  return value === "off" || value === "refresh" ? value : "on";
}

export function cacheFileOf(bundleFile: string): string {
  return `${bundleFile}.cache`;
}

// The file's text and its owner, or undefined when it cannot be read.
function readBundle(file: string): { text: string; stat: Stats } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    return { stat: fstatSync(fd), text: readFileSync(fd, "utf8") };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// V8's data, when the cache file is as trustworthy as the bundle and made for it.
function readCache(file: string, id: CacheIdentity, owner: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const s = fstatSync(fd);
    if (!s.isFile() || s.uid !== owner || (s.mode & 0o022) !== 0) return undefined;
    const found = parseCacheFile(readFileSync(fd), id);
    return found.ok ? found.data : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// Replaces the cache atomically; any failure (a read-only install, a full disk) leaves it as it was.
function writeCache(file: string, content: Buffer): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch {
    try {
      unlinkSync(temp);
    } catch {
      // it was never made
    }
  }
}

// Node's own CommonJS wrapper: the bundle runs as if require()d.
function wrap(text: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
}

/** Loads and runs the bundle at `file`; undefined when there is none (running from source). */
export function runCliBundle(file: string, mode: CodeCacheMode): CliBundle | undefined {
  const bundle = readBundle(file);
  if (bundle === undefined) return undefined;
  const id = parseBundleId(bundle.text);
  const identity: CacheIdentity | undefined = id === undefined ? undefined : { bundle: id, node: process.version, arch: process.arch };
  const cacheFile = cacheFileOf(file);
  const cachedData = identity !== undefined && mode !== "off" ? readCache(cacheFile, identity, bundle.stat.uid) : undefined;
  const script = new vm.Script(wrap(bundle.text), { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
  const used = cachedData !== undefined && !script.cachedDataRejected;
  const module = { exports: {} as CliBundle };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, path.dirname(file));
  // Made at exit, so it holds what this command compiled too.
  if (identity !== undefined && (mode === "refresh" || (mode === "on" && !used)) && bundle.stat.uid === process.geteuid?.()) {
    process.once("exit", () => writeCache(cacheFile, buildCacheFile(identity, script.createCachedData())));
  }
  return module.exports;
}
