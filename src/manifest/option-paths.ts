import type { PathSegment } from "./positions.ts";
import { normaliseParamName } from "./rsyncd-params.ts";
import type { Manifest, OptionValue } from "./schema.ts";

// rsyncd.conf parameters whose value is a path (rsyncd.conf(5)), and every such value a
// manifest sets through raw `options:`: they pass the same refusals, claims and node policy as
// the typed keys (issue 19). Pure. (`syslog tag`, `filter`, `name converter` and the exec
// parameters are not paths; the exec ones are warned about in warnings.ts.)

/** write: rsyncd writes it as root; read: rsyncd reads it as root (motd goes to clients); dir: rsyncd writes into it; root: rsyncd chroots there. */
export type OptionPathKind = "write" | "read" | "dir" | "root";

export const PATH_PARAMS: Readonly<Record<string, OptionPathKind>> = {
  "motd file": "read",
  "pid file": "write",
  "lock file": "write",
  "log file": "write",
  "secrets file": "read",
  "include from": "read",
  "exclude from": "read",
  "temp dir": "dir",
  "daemon chroot": "root",
};

export interface OptionPath {
  readonly at: readonly PathSegment[];
  /** The parameter as written in the manifest. */
  readonly key: string;
  readonly kind: OptionPathKind;
  readonly text: string;
  readonly nodes: readonly string[] | undefined;
  readonly daemon: string;
}

function* fromOptions(at: readonly PathSegment[], options: Record<string, OptionValue> | undefined, nodes: readonly string[] | undefined, daemon: string): Generator<OptionPath> {
  for (const [key, value] of Object.entries(options ?? {})) {
    const kind = PATH_PARAMS[normaliseParamName(key)];
    if (kind !== undefined && typeof value === "string") yield { at: [...at, key], key, kind, text: value, nodes, daemon };
  }
}

/** Every path-valued parameter set through a daemon's or a module's `options`. */
export function optionPathsOf(m: Manifest): OptionPath[] {
  const out: OptionPath[] = [];
  for (const [name, d] of Object.entries(m.daemons)) {
    out.push(...fromOptions(["daemons", name, "options"], d.options, d.nodes, name));
    for (const [modName, mod] of Object.entries(d.modules)) out.push(...fromOptions(["daemons", name, "modules", modName, "options"], mod.options, d.nodes, name));
  }
  return out;
}
