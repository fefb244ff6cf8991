import { execa } from "execa";
import { readBuildRecord, type BuildRecord } from "../core/build-record.ts";
import { findExecutable } from "../core/executables.ts";
import { parseRsyncVersion } from "../manifest/rsync-version.ts";
import { loadInotifyBinding } from "../watch/sources/inotify/binding.ts";
import { readWatcherChoice } from "../watch/sources/select.ts";

// `rtsync --version`: rtsync's version and the git revision it was built from (scripts/build.ts
// bakes dist/build-info.json in: an installed tarball has no git to ask), and what this machine
// gives it: the rsync and inotifywait found, whether the inotify addon loads, and so which event
// source `watcher: auto` runs. Only observes.

type Tool = { readonly found: true; readonly path: string; readonly version: string | undefined } | { readonly found: false };

export interface VersionReport {
  readonly version: string;
  readonly build: BuildRecord | undefined;
  readonly node: string;
  readonly rsync: Tool;
  readonly inotifywait: Tool;
  readonly addon: { readonly ok: true; readonly file: string } | { readonly ok: false; readonly reason: string };
  /** The event source `watcher: auto` runs here, and why. */
  readonly auto: { readonly source: string; readonly why: string };
}

async function readTool(name: string, args: readonly string[], parse: (output: string) => string | undefined): Promise<Tool> {
  const path = await findExecutable(name, process.env["PATH"] ?? "/usr/bin:/bin");
  if (path === undefined) return { found: false };
  const run = await execa(path, args, { env: { PATH: "/usr/bin:/bin", LC_ALL: "C" }, extendEnv: false, stdin: "ignore", reject: false, timeout: 10_000, all: true });
  return { found: true, path, version: parse(String(run.all ?? "")) };
}

export async function readVersionReport(version: string): Promise<VersionReport> {
  const [rsync, inotifywait] = await Promise.all([
    readTool("rsync", ["--version"], (out) => parseRsyncVersion(out)?.text),
    // `inotifywait --help` starts with "inotifywait 3.22.6.0" (and exits 1).
    readTool("inotifywait", ["--help"], (out) => /^inotifywait (\S+)/.exec(out)?.[1]),
  ]);
  const addon = loadInotifyBinding();
  const choice = readWatcherChoice("auto", inotifywait.found ? inotifywait.path : undefined);
  return {
    version,
    build: readBuildRecord(),
    node: process.version,
    rsync,
    inotifywait,
    addon: addon.ok ? { ok: true, file: addon.file } : { ok: false, reason: addon.reason },
    auto: { source: choice.source, why: choice.why },
  };
}

function toolLine(name: string, t: Tool, missing: string): string {
  if (!t.found) return `${name}: not found (${missing})`;
  return `${name} ${t.version ?? "(version unknown)"} (${t.path})`;
}

/** The report as text, one fact per line, the first one `rtsync VERSION (REVISION)`. Pure. */
export function renderVersion(r: VersionReport): string[] {
  const revision = r.build === undefined ? "run from source, not a build" : r.build.revision === null ? `built ${r.build.builtAt} without git` : `git ${r.build.revision}, built ${r.build.builtAt}`;
  return [
    `rtsync ${r.version} (${revision})`,
    `node ${r.node}`,
    toolLine("rsync", r.rsync, "apt-get install rsync: daemons and watches need it"),
    toolLine("inotifywait", r.inotifywait, "apt-get install inotify-tools: the event source where the addon is not built"),
    r.addon.ok ? `inotify addon: loaded (${r.addon.file})` : `inotify addon: not loaded (${r.addon.reason})`,
    `watches with watcher: auto use ${r.auto.source} (${r.auto.why})`,
  ];
}
