import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * How apply runs a watcher: node and the watcher's own bundle (dist/watcher/watcher.js) when
 * rtsync runs from its build, else this same entry with its loader flags (tsx in development).
 * Observes the file system only.
 */
export function watcherCommand(): string[] {
  const bundled = fileURLToPath(new URL("../watcher/watcher.js", import.meta.url));
  if (existsSync(bundled)) return [process.execPath, bundled];
  const entry = process.argv[1];
  return entry === undefined ? [process.execPath] : [process.execPath, ...process.execArgv, entry];
}
