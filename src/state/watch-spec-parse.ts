import type { WatchSpec, WatcherKind } from "./watch-spec.ts";

// The watcher process reads its WatchSpec from a JSON file written by the reconciler; this is the
// parse boundary (unknown keys are errors: a typo must not be ignored). Checked by hand rather
// than with zod: the watcher runs for months, and zod's ~570 KiB of code held 4.6 MB of its
// resident memory, for twelve fields that rtsync itself wrote.

export type SpecResult = { readonly ok: true; readonly spec: WatchSpec } | { readonly ok: false; readonly message: string };

type Check = (v: unknown) => string | undefined;

const text: Check = (v) => (typeof v === "string" && v.length > 0 ? undefined : "must be a non-empty string");
const absolute: Check = (v) => (typeof v === "string" && v.startsWith("/") ? undefined : "must be an absolute path");
const bool: Check = (v) => (typeof v === "boolean" ? undefined : "must be true or false");
const strings: Check = (v) => (Array.isArray(v) && v.every((s) => typeof s === "string") ? undefined : "must be a list of strings");
const count: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : "must be a whole number >= 0");
const WATCHERS: readonly WatcherKind[] = ["auto", "inotify", "inotifywait", "chokidar", "poll"];
const watcher: Check = (v) => (WATCHERS.includes(v as WatcherKind) ? undefined : `must be one of ${WATCHERS.join(", ")}`);

const FIELDS: Record<keyof WatchSpec, { check: Check; optional?: true }> = {
  name: { check: text },
  source: { check: absolute },
  target: { check: text },
  daemonTarget: { check: bool },
  passwordFile: { check: absolute, optional: true },
  exclude: { check: strings },
  delayMs: { check: count },
  watcher: { check: watcher },
  rsyncArgs: { check: strings },
  initialSync: { check: bool },
  fullSyncSchedule: { check: text, optional: true },
  stateDir: { check: absolute },
};

/** Validates a parsed JSON value as a WatchSpec; the message lists every problem with its field. */
export function parseWatchSpec(value: unknown): SpecResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, message: "(root): must be an object" };
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, { check, optional }] of Object.entries(FIELDS)) {
    const v = record[key];
    if (v === undefined) {
      if (!optional) problems.push(`${key}: is required`);
      continue;
    }
    const why = check(v);
    if (why !== undefined) problems.push(`${key}: ${why}`);
  }
  for (const key of Object.keys(record)) if (!(key in FIELDS)) problems.push(`${key}: unknown key`);
  if (problems.length > 0) return { ok: false, message: problems.join("; ") };
  return { ok: true, spec: value as WatchSpec };
}
