import { redactUrl } from "../core/redact-url.ts";
import type { PathSegment } from "./positions.ts";
import { NAME_PATTERN, type SshSettings, type Watch } from "./schema.ts";
import { normalisePath } from "./system-paths.ts";

// A watch's target: an rsync daemon module (two spellings), a directory on an ssh host
// (ssh://user@host[:port]/abs/path, run as rsync -e "ssh ...") or a local directory. Parsing is pure.

export type Target =
  | {
      readonly kind: "daemon";
      readonly user?: string;
      readonly host: string;
      readonly port?: number;
      readonly module: string;
      /** Path inside the module: "" or "/sub/dir" (no trailing slash). */
      readonly path: string;
    }
  | {
      readonly kind: "ssh";
      readonly user: string;
      readonly host: string;
      readonly port?: number;
      /** Absolute path on the ssh host, no trailing slash. */
      readonly path: string;
    }
  | { readonly kind: "local"; readonly path: string };

export type TargetResult = { readonly ok: true; readonly target: Target } | { readonly ok: false; readonly message: string };

const HOST = String.raw`(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)`;
const USER = String.raw`[A-Za-z0-9][A-Za-z0-9._-]*`;
const URL_FORM = new RegExp(String.raw`^rsync://(?:(${USER})@)?(${HOST})(?::(\d{1,5}))?/([^/]*)(/.*)?$`);
const COLONS_FORM = new RegExp(String.raw`^(?:(${USER})@)?(${HOST})::([^/]*)(/.*)?$`);
const SSH_FORM = new RegExp(String.raw`^ssh://(?:(${USER})@)?(${HOST})(?::(\d{1,5}))?(/.*)?$`);
const FORMS = "rsync://[user@]host[:port]/module[/path], [user@]host::module[/path], ssh://user@host[:port]/absolute/path, or an absolute local directory";

function parsePort(text: string | undefined): { readonly ok: true; readonly port?: number } | { readonly ok: false; readonly message: string } {
  if (text === undefined) return { ok: true };
  const port = Number(text);
  if (port < 1 || port > 65535) return { ok: false, message: `target port ${text} is not between 1 and 65535` };
  return { ok: true, port };
}

// ssh://user@host[:port]/abs/path: a user is required (rtsync never logs in as whoever runs it
// by accident), the path is absolute, with no empty, '.' or '..' segment and nothing rsync's
// remote shell would read as an option or glob.
function parseSshTarget(text: string): TargetResult {
  const m = SSH_FORM.exec(text);
  if (!m) return { ok: false, message: `target ${shown(text)} is not a valid ssh:// URL; expected ssh://user@host[:port]/absolute/path` };
  const [, user, host, portText, rawPath] = m;
  if (!user) return { ok: false, message: `target ${shown(text)} names no user; expected ssh://user@host[:port]/absolute/path (the account the receiver's authorized_keys belongs to)` };
  if (rawPath === undefined || rawPath === "/") return { ok: false, message: `target ${shown(text)} names no directory on the host; expected ssh://user@host[:port]/absolute/path` };
  const path = checkSubPath(rawPath);
  if (path === undefined) return { ok: false, message: `target ${shown(text)} has an empty, '.' or '..' path segment` };
  if (!/^[A-Za-z0-9/._+@%=,-]+$/.test(path)) {
    return { ok: false, message: `target ${shown(text)} has a path with characters the remote shell would interpret; use letters, digits and / . _ - + @ % = , only` };
  }
  const port = parsePort(portText);
  if (!port.ok) return port;
  return { ok: true, target: { kind: "ssh", user, host: host ?? "", path, ...(port.port === undefined ? {} : { port: port.port }) } };
}

// Checks the part after the module: no empty, "." or ".." segments, no control characters.
function checkSubPath(sub: string | undefined): string | undefined {
  if (!sub || sub === "/") return "";
  const trimmed = sub.replace(/\/+$/, "");
  const segments = trimmed.split("/").slice(1);
  if (segments.some((s) => s === "" || s === "." || s === "..")) return undefined;
  return trimmed;
}

// A target as a message may quote it: with any password in it replaced by *** (rsync://u:***@h/m,
// u:***@h::m), so /healthz and the log never echo one.
function shown(text: string): string {
  return JSON.stringify(redactUrl(text).replace(/^([^:@/]+):[^@/]*@/, "$1:***@"));
}

/** Parses a watch target; the message of a failure is one sentence fit for FILE:LINE:COL. */
export function parseTarget(text: string): TargetResult {
  if (/[\r\n\0]/.test(text)) return { ok: false, message: "target must not contain a line break or NUL" };
  if (/^(?:rsync:\/\/)?[^/@:]+:[^/@]*@/.test(text)) {
    return { ok: false, message: `target ${shown(text)} holds a password; name only the user in the target and give the password under users: (users.NAME.password: { env: VAR } or { file: PATH })` };
  }
  if (text.startsWith("/")) {
    if (text.split("/").some((s) => s === "..")) return { ok: false, message: "target path must not contain '..'" };
    const path = text.length > 1 ? text.replace(/\/+$/, "") : text;
    return { ok: true, target: { kind: "local", path } };
  }
  if (text.startsWith("ssh://")) return parseSshTarget(text);
  const url = URL_FORM.exec(text);
  const colons = url ? undefined : COLONS_FORM.exec(text);
  if (!url && !colons) {
    if (text.startsWith("rsync://")) return { ok: false, message: `target ${shown(text)} is not a valid rsync:// URL; expected ${FORMS}` };
    if (/^[^/]*:[^:]/.test(text)) {
      return { ok: false, message: `target ${shown(text)} is an scp-style remote-shell target; write it as ssh://user@host[:port]/absolute/path with ssh: settings (identityFile, hostKey)` };
    }
    return { ok: false, message: `target ${shown(text)} must be ${FORMS}` };
  }
  const [user, host, portText, module, sub] = url
    ? [url[1], url[2], url[3], url[4], url[5]]
    : [colons?.[1], colons?.[2], undefined, colons?.[3], colons?.[4]];
  if (!module || !NAME_PATTERN.test(module)) {
    return { ok: false, message: `target ${shown(text)} names no valid module after the host` };
  }
  const path = checkSubPath(sub);
  if (path === undefined) return { ok: false, message: `target ${shown(text)} has an empty, '.' or '..' path segment` };
  const parsedPort = parsePort(portText);
  if (!parsedPort.ok) return parsedPort;
  const port = parsedPort.port;
  return {
    ok: true,
    target: {
      kind: "daemon",
      host: host ?? "",
      module,
      path,
      ...(user ? { user } : {}),
      ...(port !== undefined ? { port } : {}),
    },
  };
}

/** The destination as rsync takes it (always the rsync:// spelling for daemons, no trailing slash). */
export function renderTarget(target: Target): string {
  switch (target.kind) {
    case "local":
      return target.path;
    case "daemon": {
      const user = target.user ? `${target.user}@` : "";
      const port = target.port !== undefined ? `:${target.port}` : "";
      return `rsync://${user}${target.host}${port}/${target.module}${target.path}`;
    }
    case "ssh":
      // rsync's remote-shell spelling; the port goes to ssh (-p), not into the destination.
      return `${target.user}@${target.host}:${target.path}`;
  }
}

/**
 * A target's identity, the same for every spelling of one destination: a local directory's
 * normalised path, or `rsync://host:port/module/path` with the host in lower case, the port
 * always given (873 by default) and no user. One watch lists each destination once (validate
 * refuses duplicates), so this keys its lanes in the watcher's status, log and metrics.
 */
export function targetKey(target: Target): string {
  switch (target.kind) {
    case "local":
      return normalisePath(target.path).path;
    case "daemon":
      return `rsync://${target.host.toLowerCase()}:${target.port ?? 873}/${target.module}${target.path}`;
    case "ssh":
      return `ssh://${target.host.toLowerCase()}:${target.port ?? 22}${target.path}`;
  }
}

/** One target of a watch as the manifest writes it. */
export interface WatchTargetEntry {
  /** The destination text. */
  readonly text: string;
  /** Where that text is, relative to the watch: ["target"], ["targets", 1] or ["targets", 1, "url"]. */
  readonly at: readonly PathSegment[];
  /** Where the entry is, relative to the watch (its own keys are below it). */
  readonly entryAt: readonly PathSegment[];
  /** The settings this target replaces for itself (object form of `targets` only). */
  readonly rsyncArgs?: readonly string[];
  readonly fullSync?: { readonly schedule: string };
  readonly maxDelete?: number;
  readonly ssh?: SshSettings;
}

/** A watch's targets in manifest order: `target`, then each of `targets` (validate refuses both at once). Pure. */
export function watchTargets(w: Pick<Watch, "target" | "targets">): WatchTargetEntry[] {
  const out: WatchTargetEntry[] = [];
  if (w.target !== undefined) out.push({ text: w.target, at: ["target"], entryAt: ["target"] });
  (w.targets ?? []).forEach((entry, i) => {
    if (typeof entry === "string") {
      out.push({ text: entry, at: ["targets", i], entryAt: ["targets", i] });
      return;
    }
    out.push({
      text: entry.url,
      at: ["targets", i, "url"],
      entryAt: ["targets", i],
      ...(entry.rsyncArgs === undefined ? {} : { rsyncArgs: entry.rsyncArgs }),
      ...(entry.fullSync === undefined ? {} : { fullSync: entry.fullSync }),
      ...(entry.maxDelete === undefined ? {} : { maxDelete: entry.maxDelete }),
      ...(entry.ssh === undefined ? {} : { ssh: entry.ssh }),
    });
  });
  return out;
}
