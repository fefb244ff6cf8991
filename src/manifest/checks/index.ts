import { dottedPath, type RawIssue } from "../issues.ts";
import type { Manifest } from "../schema.ts";
import { checkListenCollisions, checkDaemonValues, checkModule, checkModuleNames } from "./daemon.ts";
import { checkCollisions } from "./collisions.ts";
import { checkPaths } from "./paths.ts";
import { checkUsers } from "./users.ts";
import { checkSecretReferences } from "./values.ts";
import { checkClearText, checkControlPathRoom, checkSshReceiver } from "./ssh.ts";
import { checkWatch } from "./watch.ts";
import type { PathIdentify } from "../path-identity.ts";

// Semantic checks: what the schema cannot say about one value alone. Pure: (manifest) -> issues.

/**
 * Every semantic error and warning of a schema-valid manifest. `userNames` are the keys of
 * `users` as written (so a user whose own entry is broken is not reported missing twice).
 */
export function checkManifest(m: Manifest, userNames: ReadonlySet<string> = new Set(Object.keys(m.users)), identify?: PathIdentify): RawIssue[] {
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
  checkListenCollisions(out, m.daemons);
  checkSecretReferences(out, m);
  const targets = Object.entries(m.watches).flatMap(([name, w]) => checkWatch(out, ["watches", name], w, userNames));
  checkClearText(out, m, targets);
  checkControlPathRoom(out, m, targets.some((t) => t.target.kind === "ssh"));
  for (const [name, r] of Object.entries(m.sshReceivers)) checkSshReceiver(out, ["sshReceivers", name], r);
  // A path refused as dangerous must move anyway: it takes no part in the collision check, whose
  // errors would only repeat the point.
  const pathIssues: RawIssue[] = [];
  checkPaths(pathIssues, m);
  out.push(...pathIssues);
  checkCollisions(out, m, new Set(pathIssues.map((i) => dottedPath(i.path))), identify);
  return out;
}
