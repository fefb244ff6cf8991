import type { RawIssue } from "../issues.ts";
import type { Manifest } from "../schema.ts";
import { checkDaemonCollisions, checkDaemonValues, checkModule, checkModuleNames } from "./daemon.ts";
import { checkPaths } from "./paths.ts";
import { checkUsers } from "./users.ts";
import { checkWatch } from "./watch.ts";

// Semantic checks: what the schema cannot say about one value alone. Pure: (manifest) -> issues.

/**
 * Every semantic error and warning of a schema-valid manifest. `userNames` are the keys of
 * `users` as written (so a user whose own entry is broken is not reported missing twice).
 */
export function checkManifest(m: Manifest, userNames: ReadonlySet<string> = new Set(Object.keys(m.users))): RawIssue[] {
  const out: RawIssue[] = [];
  checkUsers(out, m.users);
  for (const [name, d] of Object.entries(m.daemons)) {
    const path = ["daemons", name];
    checkDaemonValues(out, path, d);
    checkModuleNames(out, [...path, "modules"], d.modules);
    for (const [modName, mod] of Object.entries(d.modules)) {
      checkModule(out, [...path, "modules", modName], modName, mod, d, userNames);
    }
  }
  checkDaemonCollisions(out, m.daemons);
  for (const [name, w] of Object.entries(m.watches)) checkWatch(out, ["watches", name], w, userNames);
  checkPaths(out, m);
  return out;
}
