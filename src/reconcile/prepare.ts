import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { RtsyncError } from "../core/errors.ts";
import { manifestDir, type ResolvedManifest } from "../manifest/resolve.ts";
import { readAccounts } from "../resources/accounts.ts";
import type { Host } from "../resources/host.ts";
import { buildDesired, neededUsers } from "./desired.ts";
import { gatherActual } from "./gather.ts";
import { readPasswords } from "./passwords.ts";
import { planChanges } from "./plan.ts";
import type { Actual, Desired, Plan } from "./types.ts";

// read -> plan: everything diff and apply share. Reads passwords, the machine's state, and plans.

/** The rsync binary on PATH; one clear sentence when it is missing. */
export async function findRsync(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  for (const dir of (env["PATH"] ?? "/usr/bin:/bin").split(delimiter)) {
    const candidate = join(dir || ".", "rsync");
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new RtsyncError("E_RSYNC_MISSING", "system", "rsync is not installed or not on PATH; install it (apt-get install rsync) and run again");
}

export interface Prepared {
  readonly desired: Desired;
  readonly actual: Actual;
  readonly plan: Plan;
}

export async function buildDesiredState(m: ResolvedManifest, host: Host, env: Readonly<Record<string, string | undefined>>): Promise<Desired> {
  const needsRsync = m.daemons.length > 0 || m.watches.length > 0;
  const rsync = needsRsync ? await findRsync(env) : "rsync";
  const passwords = await readPasswords(m.users, neededUsers(m), manifestDir(m.file), env);
  const accounts = await readAccounts(host);
  const nobodyGroup = accounts.groups.has("nogroup") ? "nogroup" : "nobody";
  return buildDesired(m, { uid: host.uid, rootTransferOwner: { user: "nobody", group: nobodyGroup }, passwords, rsync });
}

export async function prepare(m: ResolvedManifest, host: Host, env: Readonly<Record<string, string | undefined>>): Promise<Prepared> {
  const desired = await buildDesiredState(m, host, env);
  const actual = await gatherActual(desired, host);
  return { desired, actual, plan: planChanges(desired, actual) };
}
