import { userInfo } from "node:os";
import { findExecutable } from "./executables.ts";

// The programs rtsync runs on its own behalf (git, ssh, useradd, groupadd, verify's rsync): found
// by the trusted lookup, and started with a built environment, never the caller's. The caller's
// may hold a manifest's password variables, GIT_* variables that redirect git (GIT_DIR,
// GIT_CONFIG_*, GIT_SSH_COMMAND), a HOME with another user's configuration, or a PATH entry a
// local user can write to.

/** System directories only: the PATH every tool is started with, and searched after the caller's. */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Variables a tool may take from rtsync's environment: the time zone and network proxies (git over https). */
const PASSED_ON = ["TZ", "http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"] as const;

/**
 * The environment of a tool: PATH fixed to SYSTEM_PATH, LC_ALL=C (its messages are parsed), HOME
 * the running user's home from the account database (not $HOME), plus `extra`. Pure but for the
 * account lookup.
 */
export function toolEnv(parent: Readonly<Record<string, string | undefined>>, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: SYSTEM_PATH, LC_ALL: "C", HOME: homeOfRunningUser() };
  for (const name of PASSED_ON) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

function homeOfRunningUser(): string {
  try {
    return userInfo().homedir || "/";
  } catch {
    return "/";
  }
}

const found = new Map<string, Promise<string | undefined>>();

/**
 * `name` found by the trusted lookup on the caller's PATH, then on SYSTEM_PATH (a root shell's PATH
 * may lack the sbin directories useradd lives in); remembered for the process's life.
 */
export function findTool(name: string, pathVar: string | undefined = process.env["PATH"]): Promise<string | undefined> {
  const search = pathVar ? `${pathVar}:${SYSTEM_PATH}` : SYSTEM_PATH;
  const key = `${name}\0${search}`;
  let hit = found.get(key);
  if (hit === undefined) {
    hit = findExecutable(name, search);
    found.set(key, hit);
    // Not found is not remembered: the package may be installed while the agent runs.
    void hit.then((file) => file === undefined && found.delete(key));
  }
  return hit;
}
