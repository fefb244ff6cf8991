import { execa } from "execa";
import { ApplyError } from "../../core/errors.ts";
import { findTool, toolEnv } from "../../core/tool-env.ts";
import type { ResolvedDaemon } from "../../manifest/resolve.ts";
import { resourceId } from "../ids.ts";
import type { ChangeBase, ResourceBase, ResourceKind } from "../types.ts";

// System groups and accounts a daemon transfers files as (`createAccount: true`): created with
// groupadd -r and useradd -r (no login shell, no home), never changed or removed. An sshReceiver's
// account (`createAccount: true`) is a system account that logs in with a key only: no password
// ('*', which matches none and is not "locked" for sshd), /bin/sh (sshd runs the forced rrsync
// command through the shell) and a home of root's that holds authorized_keys (the account cannot
// change its own keys or their restrictions).

export interface DesiredGroup extends ResourceBase {
  readonly name: string;
}

export interface DesiredAccount extends ResourceBase {
  readonly name: string;
  /** The account's primary group. */
  readonly group?: string;
  /** An sshReceiver's account: logs in with a key, its home (made by root, root's) holds authorized_keys. */
  readonly login?: { readonly home: string };
}

/** The home rtsync gives an sshReceiver account it creates. */
export function receiverHome(account: string): string {
  return `/home/${account}`;
}

export interface AccountActual {
  readonly exists: boolean;
}

export interface GroupChange extends ChangeBase {
  readonly kind: "group";
  readonly want: DesiredGroup;
}

export interface AccountChange extends ChangeBase {
  readonly kind: "account";
  readonly want: DesiredAccount;
}

/** The group a daemon's account needs: gid when it is a name, else uid's name. */
export function accountGroupOf(d: ResolvedDaemon): string | undefined {
  return typeof d.gid === "string" ? d.gid : typeof d.uid === "string" ? d.uid : undefined;
}

// Runs useradd/groupadd, found by the trusted lookup, in a built environment (never the caller's:
// it may hold password variables); their stderr becomes the error message.
async function runTool(cmd: string, args: string[]): Promise<void> {
  const file = await findTool(cmd);
  if (file === undefined) throw new ApplyError(`${cmd} is not installed (it comes with the passwd package), or only where another user could have put it`);
  const r = await execa(file, args, { reject: false, stdin: "ignore", extendEnv: false, env: toolEnv(process.env) });
  if (r.exitCode !== 0) {
    const why = (r.stderr || r.stdout || `exit code ${r.exitCode}`).trim().split("\n")[0];
    throw new ApplyError(r.failed && r.exitCode === undefined ? `${cmd} could not be started: ${why}` : `${cmd} ${args.join(" ")}: ${why}`);
  }
}

function uniqueByName<T extends { readonly name: string }>(items: readonly T[]): T[] {
  return [...new Map(items.map((i) => [i.name, i])).values()];
}

export const groupKind: ResourceKind<DesiredGroup, AccountActual, GroupChange> = {
  build: (m) =>
    uniqueByName([
      ...m.daemons.flatMap((d) => {
        const group = d.createAccount ? accountGroupOf(d) : undefined;
        return group ? [{ id: resourceId.group(group), name: group, dependsOn: [] }] : [];
      }),
      ...m.sshReceivers.flatMap((r) => (r.createAccount ? [{ id: resourceId.group(r.account), name: r.account, dependsOn: [] }] : [])),
    ]),
  read: async (g, { accounts }) => ({ exists: accounts.groups.has(g.name) }),
  plan: (g, have, ctx) => {
    if (have.exists) return undefined;
    return {
      id: g.id,
      kind: "group",
      op: "create",
      want: g,
      title: `group ${g.name}: create system group ${g.name}`,
      details: [],
      dependsOn: [],
      ...(ctx.isRoot ? {} : { blocked: `creating the system group ${g.name} needs root` }),
    };
  },
  apply: async (c, ctx) => {
    await runTool("groupadd", ["-r", c.want.name]);
    ctx.forgetAccounts();
    return {};
  },
  describe: (c) => ({ name: c.want.name }),
};

export const accountKind: ResourceKind<DesiredAccount, AccountActual, AccountChange> = {
  build: (m) =>
    uniqueByName([
      ...m.daemons.flatMap((d) => {
        if (!d.createAccount || typeof d.uid !== "string") return [];
        const group = accountGroupOf(d);
        return [{ id: resourceId.account(d.uid), name: d.uid, ...(group ? { group } : {}), dependsOn: group ? [resourceId.group(group)] : [] }];
      }),
      ...m.sshReceivers.flatMap((r) =>
        r.createAccount ? [{ id: resourceId.account(r.account), name: r.account, group: r.account, login: { home: receiverHome(r.account) }, dependsOn: [resourceId.group(r.account)] }] : [],
      ),
    ]),
  read: async (a, { accounts }) => ({ exists: accounts.users.has(a.name) }),
  plan: (a, have, ctx) => {
    if (have.exists) return undefined;
    const what = a.login
      ? `system account ${a.name} (ssh key login only: no password, shell /bin/sh for rrsync, home ${a.login.home})`
      : `system account ${a.name} (no login shell, no home${a.group ? `, group ${a.group}` : ""})`;
    return {
      id: a.id,
      kind: "account",
      op: "create",
      want: a,
      title: `account ${a.name}: create ${what}`,
      details: [],
      dependsOn: a.dependsOn,
      ...(ctx.isRoot ? {} : { blocked: `creating the ${what} needs root` }),
    };
  },
  apply: async (c, ctx) => {
    const login = c.want.login;
    if (login) await runTool("useradd", ["-r", "-M", "-d", login.home, "-s", "/bin/sh", "-p", "*", ...(c.want.group ? ["-g", c.want.group] : []), c.want.name]);
    else await runTool("useradd", ["-r", "-M", "-s", "/usr/sbin/nologin", ...(c.want.group ? ["-g", c.want.group] : []), c.want.name]);
    ctx.forgetAccounts();
    return {};
  },
  describe: (c) => ({ name: c.want.name, ...(c.want.group ? { group: c.want.group } : {}) }),
};
