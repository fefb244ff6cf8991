import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import type { Host } from "./host.ts";

// System users and groups: read from /etc/passwd and /etc/group, created with groupadd/useradd.

export interface AccountsActual {
  readonly users: Map<string, { uid: number; gid: number }>;
  readonly groups: Map<string, number>;
}

function parseColonFile(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

export async function readAccounts(host: Host): Promise<AccountsActual> {
  const [passwd, group] = await Promise.all([
    readFile(join(host.etcRoot, "passwd"), "utf8").catch(() => ""),
    readFile(join(host.etcRoot, "group"), "utf8").catch(() => ""),
  ]);
  const users = new Map<string, { uid: number; gid: number }>();
  for (const f of parseColonFile(passwd)) if (f[0]) users.set(f[0], { uid: Number(f[2]), gid: Number(f[3]) });
  const groups = new Map<string, number>();
  for (const f of parseColonFile(group)) if (f[0]) groups.set(f[0], Number(f[2]));
  return { users, groups };
}

/** Numeric id of a user given by name or number, or undefined when unknown. */
export function userIdOf(a: AccountsActual, user: string): number | undefined {
  return /^\d+$/.test(user) ? Number(user) : a.users.get(user)?.uid;
}

export function groupIdOf(a: AccountsActual, group: string): number | undefined {
  return /^\d+$/.test(group) ? Number(group) : a.groups.get(group);
}

export function nameOfUser(a: AccountsActual, uid: number): string {
  for (const [name, u] of a.users) if (u.uid === uid) return name;
  return String(uid);
}

export function nameOfGroup(a: AccountsActual, gid: number): string {
  for (const [name, g] of a.groups) if (g === gid) return name;
  return String(gid);
}

// Runs useradd/groupadd; their stderr becomes the error message.
async function run(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false, stdin: "ignore" });
  if (r.exitCode !== 0) {
    const why = (r.stderr || r.stdout || `exit code ${r.exitCode}`).trim().split("\n")[0];
    throw new Error(r.failed && r.exitCode === undefined ? `${cmd} is not installed` : `${cmd} ${args.join(" ")}: ${why}`);
  }
}

/** A system group, as `groupadd -r NAME`. */
export async function createGroup(name: string): Promise<void> {
  await run("groupadd", ["-r", name]);
}

/** A system account with no login shell and no home, as `useradd -r -M -s /usr/sbin/nologin`. */
export async function createAccount(name: string, group: string | undefined): Promise<void> {
  await run("useradd", ["-r", "-M", "-s", "/usr/sbin/nologin", ...(group ? ["-g", group] : []), name]);
}
