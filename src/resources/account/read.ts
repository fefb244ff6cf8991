import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Host } from "../host.ts";

// System users and groups, from /etc/passwd and /etc/group. Only observes.

export interface AccountsActual {
  readonly users: ReadonlyMap<string, { readonly uid: number; readonly gid: number; readonly home?: string }>;
  readonly groups: ReadonlyMap<string, number>;
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
  const users = new Map<string, { uid: number; gid: number; home?: string }>();
  for (const f of parseColonFile(passwd)) if (f[0]) users.set(f[0], { uid: Number(f[2]), gid: Number(f[3]), ...(f[5] ? { home: f[5] } : {}) });
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

/** `user:group` for numeric ids, by name where the accounts know them. */
export function ownerName(a: AccountsActual, uid: number, gid: number): string {
  const user = [...a.users].find(([, u]) => u.uid === uid)?.[0] ?? String(uid);
  const group = [...a.groups].find(([, g]) => g === gid)?.[0] ?? String(gid);
  return `${user}:${group}`;
}
