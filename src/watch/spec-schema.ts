import { z } from "zod";
import type { WatchSpec } from "./spec.ts";

// The watcher process reads its WatchSpec from a JSON file written by the reconciler; this is the
// parse boundary (unknown keys are errors: a typo must not be ignored).

const WatchSpecSchema = z.strictObject({
  name: z.string().min(1),
  source: z.string().startsWith("/", "must be an absolute path"),
  target: z.string().min(1),
  daemonTarget: z.boolean(),
  passwordFile: z.string().startsWith("/", "must be an absolute path").optional(),
  exclude: z.array(z.string()),
  delayMs: z.number().int().min(0),
  watcher: z.enum(["auto", "inotifywait", "chokidar", "poll"]),
  rsyncArgs: z.array(z.string()),
  initialSync: z.boolean(),
  fullSyncSchedule: z.string().min(1).optional(),
  stateDir: z.string().startsWith("/", "must be an absolute path"),
});

export type SpecResult = { readonly ok: true; readonly spec: WatchSpec } | { readonly ok: false; readonly message: string };

/** Validates a parsed JSON value as a WatchSpec; the message lists every problem with its field. */
export function parseWatchSpec(value: unknown): SpecResult {
  const parsed = WatchSpecSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length === 0 ? "(root)" : i.path.join(".")}: ${i.message}`);
    return { ok: false, message: problems.join("; ") };
  }
  const { passwordFile, fullSyncSchedule, ...rest } = parsed.data;
  return {
    ok: true,
    spec: {
      ...rest,
      ...(passwordFile === undefined ? {} : { passwordFile }),
      ...(fullSyncSchedule === undefined ? {} : { fullSyncSchedule }),
    },
  };
}
