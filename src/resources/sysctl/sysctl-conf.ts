import type { SysctlKey } from "../../manifest/schema.ts";

// The sysctl.d file that makes the inotify limits survive a reboot. Pure.
export function renderSysctlConf(values: ReadonlyArray<{ readonly key: SysctlKey; readonly value: number }>, owner: string): string {
  const lines = [...values].sort((a, b) => a.key.localeCompare(b.key)).map(({ key, value }) => `${key} = ${value}`);
  return [`# Managed by rtsync for ${owner}: inotify limits (minimums).`, ...lines, ""].join("\n");
}
