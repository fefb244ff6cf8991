import { RtsyncError } from "../core/errors.ts";
import type { ResolvedManifest } from "../manifest/resolve.ts";
import { removeRecordedIdentity } from "../state/source-identity.ts";

// `rtsync apply --accept-source NAME`: the operator says the source of watch NAME is now what is
// there (a new disk, a moved tree). Its recorded identity is removed; the running watcher, halted
// because the root changed, records the root as it is now within a second and resumes with a full
// sync (and apply restarts a halted watcher anyway, which records it at start).

/** Names of the watches to accept, from the flag's value(s). Pure. */
export function acceptedNames(flag: unknown): string[] {
  if (typeof flag === "string") return [flag];
  return Array.isArray(flag) ? flag.filter((n): n is string => typeof n === "string") : [];
}

/** Forgets the recorded source identity of each named watch; a name this node does not run is a usage error. */
export async function applyAcceptSource(m: ResolvedManifest, names: readonly string[]): Promise<void> {
  const here = m.watches.map((w) => w.name);
  for (const name of names) {
    if (here.includes(name)) continue;
    const which = here.length > 0 ? ` (its watches: ${here.join(", ")})` : " (it has no watches)";
    throw new RtsyncError("E_USAGE", "user", `no watch ${name} runs on node ${m.node}${which}; check --accept-source and --node`);
  }
  for (const w of m.watches) if (names.includes(w.name)) await removeRecordedIdentity(w.dir);
}
