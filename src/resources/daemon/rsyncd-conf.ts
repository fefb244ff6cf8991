import type { OptionValue } from "../../manifest/schema.ts";
import type { ResolvedDaemon, ResolvedModule } from "../../manifest/resolve.ts";
import { STARTUP_PARAMS } from "../../manifest/rsyncd-params.ts";

// rsyncd.conf from a resolved daemon: the global section, then one section per module sorted by
// name, options sorted by name. Pure and byte-stable, so the file on disk can be compared byte for
// byte. Every value was validated (manifest/checks/) so none can break out of its line.

type Line = readonly [key: string, value: OptionValue | readonly string[] | undefined];

function renderValue(value: OptionValue | readonly string[]): string {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.join(" ");
  return String(value);
}

function renderLines(lines: readonly Line[]): string[] {
  return lines
    .filter((l): l is readonly [string, OptionValue | readonly string[]] => l[1] !== undefined && !(Array.isArray(l[1]) && l[1].length === 0))
    .map(([k, v]) => `${k} = ${renderValue(v)}`);
}

function sortedOptions(options: Record<string, OptionValue> | undefined): Line[] {
  return Object.entries(options ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k.trim().replace(/\s+/g, " "), v]);
}

/** The global section's parameter lines. */
export function globalLines(d: ResolvedDaemon): string[] {
  return renderLines([
    ["address", d.address],
    ["port", d.port],
    ["pid file", d.pidFile],
    ["lock file", d.lockFile],
    ["log file", d.logFile],
    ["uid", d.uid],
    ["gid", d.gid],
    ["use chroot", d.useChroot],
    ["max connections", d.maxConnections],
    ["timeout", d.timeout],
    ["secrets file", d.secretsFile],
    ["hosts allow", d.hostsAllow],
    ["hosts deny", d.hostsDeny],
    ...sortedOptions(d.options),
  ]);
}

function moduleLines(m: ResolvedModule): string[] {
  return renderLines([
    ["path", m.path],
    ["comment", m.comment],
    ["read only", m.readOnly],
    ["write only", m.writeOnly],
    ["list", m.list],
    ["ignore errors", m.ignoreErrors],
    ["hosts allow", m.hostsAllow],
    ["hosts deny", m.hostsDeny],
    ["auth users", m.authUsers],
    ...sortedOptions(m.options),
  ]);
}

/** `owner` names the manifest (describeOwner), never its path: the same manifest from another checkout renders the same bytes. */
export function renderRsyncdConf(d: ResolvedDaemon, owner: string): string {
  const header = [
    `# Managed by rtsync: daemon "${d.name}" of ${owner}.`,
    "# Do not edit: `rtsync apply` puts this file back as the manifest says.",
  ];
  const modules = [...d.modules]
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((m) => ["", `[${m.name}]`, ...moduleLines(m)]);
  return `${[...header, ...globalLines(d), ...modules].join("\n")}\n`;
}

/** The global lines rsyncd reads only at start-up (a change needs a restart). */
export function startupLines(d: ResolvedDaemon): string[] {
  return globalLines(d).filter((line) => STARTUP_PARAMS.has(line.slice(0, line.indexOf(" = ")).toLowerCase()));
}
