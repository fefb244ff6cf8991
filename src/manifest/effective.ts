import type { PathSegment } from "./positions.ts";
import { normaliseParamName } from "./rsyncd-params.ts";
import type { Daemon, Module, OptionValue } from "./schema.ts";

// What rsyncd will really do for a module: each parameter from the module's typed key or its
// options, else the daemon's (typed key or options: the global section is every module's
// default), else rsyncd's own default, together with where it was set. Warnings are raised from
// these, so `options: { "read only": false }` at daemon level counts like `readOnly: false` on
// every module without its own (issue 13). Pure.

type Path = readonly PathSegment[];

/** A parameter's value and the manifest position that set it (absent: rsyncd's default). */
export interface Setting<T> {
  readonly value: T;
  readonly at?: Path;
  /** Set in the daemon's options for every module: `"read only": false in daemons.d.options`. */
  readonly inherited?: string;
}

export interface EffectiveModule {
  readonly readOnly: Setting<boolean>;
  readonly writeOnly: Setting<boolean>;
  /** The transfer user (undefined: rsyncd's default, nobody when it runs as root). */
  readonly uid: Setting<string | undefined>;
  /** undefined: unset (rsyncd tries a chroot and goes on without one when it fails). */
  readonly useChroot: Setting<boolean | undefined>;
  readonly hostsAllow: Setting<readonly string[]>;
  readonly authUsers: readonly string[];
}

/** rsyncd.conf's boolean spellings (yes/true/1, no/false/0, any case and spacing), else undefined. */
export function asBool(value: OptionValue | undefined): boolean | undefined {
  if (typeof value === "boolean") return value;
  const text = String(value ?? "").replace(/\s+/g, "").toLowerCase();
  if (text === "yes" || text === "true" || text === "1") return true;
  if (text === "no" || text === "false" || text === "0") return false;
  return undefined;
}

/** The entry of `options` that sets the rsyncd.conf parameter `name`, in any spelling rtsync accepts. */
export function optionEntry(options: Record<string, OptionValue> | undefined, name: string): readonly [string, OptionValue] | undefined {
  for (const entry of Object.entries(options ?? {})) if (normaliseParamName(entry[0]) === name) return entry;
  return undefined;
}

// The first level that sets a boolean parameter: the module's options, then the daemon's. (A
// value rsyncd cannot read as a boolean leaves the level below in force, as rsyncd does.)
function boolOption(moduleOptions: Path, m: Module, daemonOptions: Path, d: Daemon, name: string): Setting<boolean> | undefined {
  const own = optionEntry(m.options, name);
  const ownValue = own ? asBool(own[1]) : undefined;
  if (own && ownValue !== undefined) return { value: ownValue, at: [...moduleOptions, own[0]] };
  const global = optionEntry(d.options, name);
  const globalValue = global ? asBool(global[1]) : undefined;
  if (global && globalValue !== undefined) {
    return { value: globalValue, at: [...daemonOptions, global[0]], inherited: `${JSON.stringify(global[0])}: ${String(global[1])} in ${daemonOptions.join(".")}` };
  }
  return undefined;
}

/** Is `uid` root, in any of the ways a manifest can say so? */
export function isRoot(uid: string | undefined): boolean {
  return uid !== undefined && (uid.trim() === "root" || /^0+$/.test(uid.trim()));
}

export function effectiveModule(daemonPath: Path, d: Daemon, modulePath: Path, m: Module): EffectiveModule {
  const bool = (name: string) => boolOption([...modulePath, "options"], m, [...daemonPath, "options"], d, name);
  const moduleUid = optionEntry(m.options, "uid");
  const moduleChroot = optionEntry(m.options, "use chroot");
  return {
    readOnly:
      m.readOnly !== undefined
        ? { value: m.readOnly, at: [...modulePath, "readOnly"] }
        : (bool("read only") ?? { value: true }),
    writeOnly:
      m.writeOnly !== undefined
        ? { value: m.writeOnly, at: [...modulePath, "writeOnly"] }
        : (bool("write only") ?? { value: false }),
    uid: moduleUid
      ? { value: String(moduleUid[1]), at: [...modulePath, "options", moduleUid[0]] }
      : d.uid !== undefined
        ? { value: String(d.uid), at: [...daemonPath, "uid"] }
        : { value: undefined },
    useChroot:
      moduleChroot && asBool(moduleChroot[1]) !== undefined
        ? { value: asBool(moduleChroot[1]), at: [...modulePath, "options", moduleChroot[0]] }
        : d.useChroot !== undefined
          ? { value: d.useChroot, at: [...daemonPath, "useChroot"] }
          : { value: undefined },
    hostsAllow: m.hostsAllow
      ? { value: m.hostsAllow, at: [...modulePath, "hostsAllow"] }
      : d.hostsAllow
        ? { value: d.hostsAllow, at: [...daemonPath, "hostsAllow"] }
        : { value: [] },
    authUsers: m.authUsers ?? [],
  };
}
