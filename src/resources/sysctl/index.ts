import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ApplyError, describeErrno, errnoOf } from "../../core/errors.ts";
import type { SysctlKey } from "../../manifest/schema.ts";
import { resourceId } from "../ids.ts";
import type { ChangeBase, ResourceBase, ResourceKind } from "../types.ts";

// A kernel parameter (fs.inotify.*): a minimum, raised when lower, never lowered.

export interface DesiredSysctl extends ResourceBase {
  readonly key: SysctlKey;
  readonly value: number;
}

export type SysctlActual = { readonly readable: true; readonly value: number } | { readonly readable: false; readonly message: string };

export interface SysctlChange extends ChangeBase {
  readonly kind: "sysctl";
  readonly want: DesiredSysctl;
  readonly have?: number;
}

// The sentence for a sysctl that could not be written: what, why, and how to do it by hand.
function sysctlFailure(key: string, value: number, e: unknown): string {
  const code = errnoOf(e);
  const why =
    code === "EROFS" ? "/proc/sys is read-only here (a container?)" : code === "EACCES" || code === "EPERM" ? "permission denied (not root?)" : describeErrno(e);
  return `cannot set ${key} to ${value}: ${why}; set it on the host with \`sysctl -w ${key}=${value}\` (and persist it in /etc/sysctl.d/)`;
}

export const sysctlKind: ResourceKind<DesiredSysctl, SysctlActual, SysctlChange> = {
  build: (m) => m.sysctl.map(({ key, value }) => ({ id: resourceId.sysctl(key), key, value, dependsOn: [] })),

  read: async (s, { host }) => {
    const path = join(host.procSysRoot, ...s.key.split("."));
    try {
      const value = Number.parseInt((await readFile(path, "utf8")).trim(), 10);
      return Number.isFinite(value) ? { readable: true, value } : { readable: false, message: `${path} does not hold a number` };
    } catch (e) {
      return { readable: false, message: `cannot read ${path}: ${describeErrno(e)}` };
    }
  },

  plan: (s, have, ctx) => {
    const base = { id: s.id, kind: "sysctl" as const, want: s, dependsOn: [], details: [] };
    if (!have.readable) return { ...base, op: "update", title: `sysctl ${s.key}: unknown -> ${s.value}`, blocked: have.message };
    if (have.value >= s.value) return undefined;
    const blocked = ctx.isRoot ? {} : { blocked: `raising ${s.key} needs root: run \`sudo sysctl -w ${s.key}=${s.value}\`, or apply as root` };
    return { ...base, op: "update", title: `sysctl ${s.key}: ${have.value} -> ${s.value}`, have: have.value, ...blocked };
  },

  apply: async (c, { host }) => {
    try {
      await writeFile(join(host.procSysRoot, ...c.want.key.split(".")), `${c.want.value}\n`);
    } catch (e) {
      throw new ApplyError(sysctlFailure(c.want.key, c.want.value, e), { cause: e });
    }
    return {};
  },

  describe: (c) => ({ key: c.want.key, value: c.want.value, ...(c.have === undefined ? {} : { have: c.have }) }),
};
