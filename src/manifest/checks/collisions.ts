import { dottedPath, error, errorWith, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import type { Manifest } from "../schema.ts";
import { normalisePath } from "../system-paths.ts";
import { optionPathsOf, type OptionPathKind } from "../option-paths.ts";
import type { PathIdentify } from "../path-identity.ts";
import { parseTarget, watchTargets } from "../target.ts";
import { NodeIndex } from "./node-index.ts";

// Every path rtsync writes or owns has one purpose (issue 13): a sysctlFile equal to a
// secretsFile made `diff` print the password, a config equal to a secretsFile ran rsyncd with
// the secrets as its config. Two claims on one path (or one inside the other) are an error that
// names both positions, unless their node filters are disjoint: then they never run on one
// machine. Linear: claims are grouped by path and found through each claim's ancestors; within a
// group only claims that share a node are compared.

type Kind = "file" | "read" | "module" | "target" | "source" | "stateDir" | "remote";

interface Claim {
  /** Normalised; daemon targets live in their own namespace, rsync://host:port/module/sub. */
  readonly path: string;
  /** device:inode of what exists there (two spellings of one file are one claim). */
  readonly inode?: string;
  /** The shortest ancestor worth looking at ("/" for local paths, the module for daemon targets). */
  readonly top: string;
  readonly kind: Kind;
  readonly at: readonly PathSegment[];
  /** The key's own name, first in a message: "secretsFile", "path", "target". */
  readonly key: string;
  readonly nodes: readonly string[] | undefined;
  /** Daemon of a module: modules of one daemon may share a directory. */
  readonly owner?: string;
  /** Watch of a target: two targets of one watch are a duplicate (or one inside the other), not two watches. */
  readonly watch?: string;
  /** The default stateDir, which no key names. */
  readonly implicit?: boolean;
}

const ONE_PURPOSE = "; each file rtsync writes must have one purpose";
const ONE_PATH = "; each path rtsync writes must have one purpose";
const ONE_OWNER = "; a directory rtsync owns must have one owner";
const TWO_WATCHES = "; two watches would each delete what the other copies there";
const ONE_WATCH = "; a watch lists each target once";
const NESTED_TARGETS = "; the full syncs of one would delete what the watch copies to the other";
const CLIENTS_WRITE = "; the watch's full syncs would delete what the module's clients write there";
const READ_OTHER = "; rsyncd would read (and for a motd, send to every client) what rtsync writes or owns there";
const OWN_FILES = "; rtsync's own files must stay out of what it syncs and exports";

const sameWatch = (a: Claim, b: Claim): boolean => a.watch !== undefined && a.watch === b.watch;

// Why two claims on the same path clash, or undefined when they may share it.
function equalClash(a: Claim, b: Claim): string | undefined {
  if (a.kind === "read" && b.kind === "read") return undefined; // two daemons may show one motd
  if (a.kind === "read" || b.kind === "read") return READ_OTHER;
  if (a.kind === "file" && b.kind === "file") return ONE_PURPOSE;
  if (a.kind === "file" || b.kind === "file") return ONE_PATH;
  const kinds = new Set([a.kind, b.kind]);
  if (kinds.has("stateDir")) return OWN_FILES;
  if (a.kind === "module" && b.kind === "module") return a.owner === b.owner ? undefined : ONE_OWNER;
  if ((a.kind === "target" && b.kind === "target") || (a.kind === "remote" && b.kind === "remote")) return sameWatch(a, b) ? ONE_WATCH : TWO_WATCHES;
  if (kinds.has("target") && kinds.has("module")) return CLIENTS_WRITE;
  return undefined; // sources are only read: a relay or a chain of watches is fine
}

// Why `inner` may not lie inside `outer`, or undefined when it may.
function nestedClash(outer: Claim, inner: Claim): string | undefined {
  if (outer.kind === "file" || outer.kind === "read") return ", which is a file";
  if (inner.kind === "read") return outer.kind === "module" || outer.kind === "target" ? "; what others write there would become rsyncd's own input" : undefined;
  if (outer.kind === "stateDir") {
    return inner.kind === "file" ? `; stateDir is rtsync's own tree: leave ${inner.key} out to get its default there, or move it out` : OWN_FILES;
  }
  if (inner.kind === "stateDir") return outer.kind === "source" ? "; every status write of rtsync would start a sync" : OWN_FILES;
  switch (outer.kind) {
    case "module":
      if (inner.kind === "file") return "; clients of that module could read or replace it";
      return inner.kind === "target" ? CLIENTS_WRITE : undefined;
    case "target":
      if (inner.kind === "file") return "; the watch's full syncs would delete or overwrite it";
      if (inner.kind === "module") return CLIENTS_WRITE;
      return inner.kind === "target" ? (sameWatch(outer, inner) ? NESTED_TARGETS : TWO_WATCHES) : undefined;
    case "remote":
      return inner.kind === "remote" ? (sameWatch(outer, inner) ? NESTED_TARGETS : TWO_WATCHES) : undefined;
    case "source":
      return inner.kind === "file" ? "; the watch would copy it to the target, and each write to it would start a sync" : undefined;
  }
  return undefined;
}

// The claims of one path, indexed by node, and the twins already seen (see signature()).
interface Group {
  readonly claims: NodeIndex<Claim>;
  readonly signatures: Set<string>;
}

// A claim that clashes with nobody its twin does not already clash with: sources, and modules
// of one daemon, on the same nodes. Only the first of such twins is compared.
function signature(c: Claim): string | undefined {
  if (c.kind !== "source" && c.kind !== "module") return undefined;
  return `${c.kind}\0${c.owner ?? ""}\0${c.nodes?.join("\0") ?? "*"}`;
}

function ancestors(c: Claim): string[] {
  const out: string[] = [];
  let p = c.path;
  while (p !== c.top) {
    const cut = p.lastIndexOf("/");
    p = cut <= 0 ? "/" : p.slice(0, cut);
    if (p.length < c.top.length) break;
    out.push(p);
  }
  return out;
}

function label(c: Claim): string {
  return c.implicit ? "the default stateDir" : dottedPath(c.at);
}

// Reported at `inner`, naming `other`; the default stateDir has no position, so a clash with it
// is reported at the claim that names a path.
function report(out: RawIssue[], inner: Claim, other: Claim, verb: "is also" | "lies inside", rest: string): void {
  if (inner.implicit) {
    out.push(error(other.at, `${other.key} ${other.path} ${verb === "is also" ? "is also" : "contains"} the default stateDir ${inner.path}${rest}`));
    return;
  }
  const message = `${inner.key} ${inner.path} ${verb} ${label(other)}`;
  if (other.implicit) out.push(error(inner.at, `${message} ${other.path}${rest}`));
  else out.push(errorWith(inner.at, message, { path: other.at, rest }));
}

const OPTION_KIND: Readonly<Record<OptionPathKind, Kind>> = { write: "file", read: "read", dir: "module", root: "source" };

function claimsOf(m: Manifest, identify: PathIdentify | undefined): Claim[] {
  const claims: Claim[] = [];
  const local = (kind: Kind, at: readonly PathSegment[], text: string, nodes: readonly string[] | undefined, owner?: string, watch?: string, named?: string) => {
    const written = normalisePath(text).path;
    if (/[\r\n\0]/.test(text) || written === "/" || !text.startsWith("/")) return; // refused as they are; every path lies inside /
    // The file's identity, not its text: the real parent directory, and device:inode where it exists.
    const id = identify?.(written);
    const path = id?.path ?? written;
    if (path === "/") return;
    const key = named ?? (watch === undefined ? String(at[at.length - 1]) : "target");
    claims.push({ path, top: "/", kind, at, key, nodes, ...(id?.inode ? { inode: id.inode } : {}), ...(owner ? { owner } : {}), ...(watch === undefined ? {} : { watch }) });
  };
  if (m.stateDir) local("stateDir", ["stateDir"], m.stateDir, undefined);
  else claims.push({ path: "/var/lib/rtsync", top: "/", kind: "stateDir", at: [], key: "stateDir", nodes: undefined, implicit: true });
  if (m.sysctlFile) local("file", ["sysctlFile"], m.sysctlFile, undefined);
  for (const [name, d] of Object.entries(m.daemons)) {
    for (const key of ["config", "pidFile", "lockFile", "logFile", "secretsFile"] as const) {
      const value = d[key];
      if (value) local("file", ["daemons", name, key], value, d.nodes);
    }
    for (const [modName, mod] of Object.entries(d.modules)) local("module", ["daemons", name, "modules", modName, "path"], mod.path, d.nodes, name);
  }
  // An sshReceiver's path is written by senders, as a module's is by clients.
  for (const [name, r] of Object.entries(m.sshReceivers)) local("module", ["sshReceivers", name, "path"], r.path, r.nodes, `sshReceiver:${name}`);
  for (const o of optionPathsOf(m)) local(OPTION_KIND[o.kind], o.at, o.text, o.nodes, o.daemon, undefined, `options."${o.key}"`);
  for (const [name, w] of Object.entries(m.watches)) {
    local("source", ["watches", name, "source"], w.source, w.nodes);
    for (const entry of watchTargets(w)) {
      const parsed = parseTarget(entry.text);
      if (!parsed.ok) continue;
      const t = parsed.target;
      const at = ["watches", name, ...entry.at];
      if (t.kind === "local") {
        local("target", at, t.path, w.nodes, undefined, name);
      } else if (t.kind === "ssh") {
        const top = `ssh://${t.host.toLowerCase()}:${t.port ?? entry.ssh?.port ?? 22}`;
        claims.push({ path: `${top}${t.path}`, top, kind: "remote", at, key: "target", nodes: w.nodes, watch: name });
      } else {
        const top = `rsync://${t.host.toLowerCase()}:${t.port ?? 873}/${t.module.toLowerCase()}`;
        claims.push({ path: `${top}${t.path}`, top, kind: "remote", at, key: "target", nodes: w.nodes, watch: name });
      }
    }
  }
  return claims;
}

/**
 * Collisions between every path the manifest makes rtsync write, own or read; `skip` holds the
 * dotted keys of paths already refused for themselves.
 */
export function checkCollisions(out: RawIssue[], m: Manifest, skip: ReadonlySet<string> = new Set(), identify?: PathIdentify): void {
  const claims = claimsOf(m, identify).filter((c) => c.implicit || !skip.has(dottedPath(c.at)));
  // Equal claims are grouped by identity (device:inode where the path exists); claims inside
  // others are found by path.
  const groups = new Map<string, Group>();
  const byPath = new Map<string, NodeIndex<Claim>>();
  const groupOf = (key: string) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { claims: new NodeIndex<Claim>(), signatures: new Set<string>() }));
    return g;
  };
  // Equal paths, in manifest order: each claim against the earlier ones that share a node.
  const compared: Claim[] = [];
  for (const c of claims) {
    const g = groupOf(c.inode === undefined ? `path:${c.path}` : `inode:${c.inode}`);
    const sig = signature(c);
    if (sig && g.signatures.has(sig)) continue;
    if (sig) g.signatures.add(sig);
    const hit = g.claims.find(c.nodes, (other) => {
      const rest = equalClash(other, c);
      return rest ? { other, rest } : undefined;
    });
    if (hit) report(out, c, hit.other, "is also", hit.rest);
    g.claims.add(c, c.nodes);
    let index = byPath.get(c.path);
    if (!index) byPath.set(c.path, (index = new NodeIndex<Claim>()));
    index.add(c, c.nodes);
    compared.push(c);
  }
  // One inside the other: each claim against the claims on its ancestors.
  for (const c of compared) {
    for (const parent of ancestors(c)) {
      const hit = byPath.get(parent)?.find(c.nodes, (other) => {
        const rest = nestedClash(other, c);
        return rest ? { other, rest } : undefined;
      });
      if (hit) report(out, c, hit.other, "lies inside", hit.rest);
    }
  }
}
