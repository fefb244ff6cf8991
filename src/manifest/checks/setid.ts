import { warning, type RawIssue } from "../issues.ts";
import { optionEntry } from "../effective.ts";
import type { PathSegment } from "../positions.ts";
import type { Daemon, Module } from "../schema.ts";

// `incoming chmod` / `outgoing chmod` that add setuid or setgid on a writable module: a client
// uploads a program and rsyncd makes it set-id (as the module's uid, or root). Pure.

const CHMOD_PARAMS = ["incoming chmod", "outgoing chmod"] as const;

/** Whether an rsync --chmod string (`Du+s,F4755`, `ug=rwxs`) sets the setuid or setgid bit. */
export function addsSetId(chmod: string): boolean {
  return chmod.split(",").some((raw) => {
    const item = raw.trim().replace(/^[DF]/, "");
    const octal = /^[0-7]{3,4}$/.exec(item);
    if (octal) return (parseInt(item, 8) & 0o6000) !== 0;
    return /^[ugoa]*[+=][rwxXst]*s/.test(item) && !/^o+[+=]/.test(item);
  });
}

/** Warns about each set-id chmod of a writable module, at the option that says it (the module's own, else the daemon's default). */
export function checkSetIdChmod(out: RawIssue[], daemonPath: readonly PathSegment[], d: Daemon, path: readonly PathSegment[], name: string, m: Module, writable: boolean): void {
  if (!writable) return;
  for (const param of CHMOD_PARAMS) {
    const own = optionEntry(m.options, param);
    const at = own ? [...path, "options", own[0]] : [...daemonPath, "options", optionEntry(d.options, param)?.[0] ?? param];
    const entry = own ?? optionEntry(d.options, param);
    if (!entry || !addsSetId(String(entry[1]))) continue;
    out.push(warning(at, `${param} ${JSON.stringify(String(entry[1]))} makes files clients upload to the writable module "${name}" setuid or setgid; drop the s (u+s, g+s) or the 4 or 2 of a four-digit mode`));
  }
}
