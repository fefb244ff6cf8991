// rsyncArgs is an allow-list: rtsync runs rsync as root with an argument list it builds itself
//   incremental: -a --ignore-times --delete --ignore-errors --force --from0 … --include-from=- --exclude=*
//   full sync:   -a --delete-delay …            rename step: -a --delete … --link-dest=… (or --copy-dest)
// and a user's option may tune how data travels, never what is sent, deleted or written where.
// Each list item is one whole option (`--bwlimit=1000`, `-zH`); docs/manifest.md lists every allowed
// option with the reason it is safe (a unit test keeps the two in step). Pure.

/** An option rsyncArgs may hold. */
export interface AllowedOption {
  /** Long names without the dashes, the first one canonical. */
  readonly long: readonly string[];
  readonly short?: string;
  /** For options that take a value: what it must look like. */
  readonly value?: {
    /** The placeholder in `--name=META`. */
    readonly meta: string;
    readonly pattern: RegExp;
    readonly what: string;
    readonly check?: (v: string) => string | undefined;
  };
  /** Why it is safe under rtsync's model (docs/manifest.md's table, generated from this list, says the same). */
  readonly why: string;
}

const SIZE = /^\d+(\.\d+)?([bkmgtp](i?b)?)?([+-]1)?$/i;
const INT = /^-?\d+$/;
const SECONDS = /^\d+$/;
const NAME = /^[a-z0-9]+$/i;

// Why a --chmod value is refused: it may not add setuid or setgid (a copy made by root could
// become a setuid program).
function chmodProblem(value: string): string | undefined {
  for (const item of value.split(",")) {
    const octal = /^[DF]?([0-7]{1,4})$/.exec(item);
    if (octal?.[1]) {
      if (octal[1].length === 4 && (Number.parseInt(octal[1], 8) & 0o6000) !== 0) return `may not set setuid or setgid${item === value ? "" : ` (${item})`}`;
      continue;
    }
    const symbolic = /^[DF]?[ugoa]*(([-+=])[rwxXst]*)+$/.exec(item);
    if (!symbolic) return `is not chmod syntax like Du+rwx,Fgo-w or F644${item === value ? "" : ` (${item})`}`;
    for (const op of item.matchAll(/([-+=])([rwxXst]*)/g)) {
      if (op[1] !== "-" && op[2]?.includes("s")) return `may not add setuid or setgid${item === value ? "" : ` (${item})`}`;
    }
  }
  return undefined;
}

// Why a --partial-dir value is refused: it must stay inside the target.
function partialDirProblem(value: string): string | undefined {
  if (value.startsWith("/")) return "must be relative (it is created inside each target directory; an absolute one is written as root wherever it points)";
  if (value.split("/").includes("..")) return "must not contain '..' (it would leave the target)";
  return undefined;
}

export const ALLOWED_RSYNC_OPTIONS: readonly AllowedOption[] = [
  { long: ["compress"], short: "z", why: "compresses data on the wire; what is copied is unchanged" },
  { long: ["compress-choice", "zc"], value: { meta: "ALG", pattern: NAME, what: "an algorithm name such as zstd, lz4 or zlib" }, why: "picks the wire compression" },
  { long: ["compress-level", "zl"], value: { meta: "N", pattern: INT, what: "a whole number" }, why: "sets the wire compression level" },
  { long: ["skip-compress"], value: { meta: "LIST", pattern: /^[^\s,]+$/, what: "suffixes separated by /, such as gz/zip/jpg" }, why: "names suffixes not to compress on the wire" },
  { long: ["bwlimit"], value: { meta: "RATE", pattern: SIZE, what: "a rate such as 1000, 1.5m or 10M" }, why: "limits bandwidth; a slower run is still a complete run" },
  { long: ["timeout"], value: { meta: "SECONDS", pattern: SECONDS, what: "a number of seconds" }, why: "ends a stuck transfer; rtsync retries it (it passes 60 s itself)" },
  { long: ["contimeout"], value: { meta: "SECONDS", pattern: SECONDS, what: "a number of seconds" }, why: "ends a stuck connection to the daemon; rtsync retries it (it passes 15 s itself)" },
  { long: ["checksum-choice", "cc"], value: { meta: "ALG", pattern: /^[a-z0-9]+(,[a-z0-9]+)?$/i, what: "one or two algorithm names such as xxh128 or md5,md5" }, why: "picks the checksum algorithm" },
  { long: ["checksum"], short: "c", why: "compares files by checksum instead of size and time: full syncs read every file on both ends (slower), never send less" },
  { long: ["acls"], short: "A", why: "also preserves ACLs (the receiver must support them)" },
  { long: ["xattrs"], short: "X", why: "also preserves extended attributes" },
  { long: ["numeric-ids"], why: "keeps owner and group ids as numbers instead of mapping names" },
  { long: ["partial"], why: "keeps a partly sent file so a retry resumes it" },
  { long: ["partial-dir"], value: { meta: "DIR", pattern: /^[^\0\r\n]+$/, what: "a relative directory name such as .rsync-partial", check: partialDirProblem }, why: "keeps partly sent files in a directory inside the target, which rsync itself protects from deletion" },
  { long: ["inplace"], why: "updates files in place instead of through a temporary copy (rtsync then uses --copy-dest for renames)" },
  { long: ["hard-links"], short: "H", why: "preserves hard links (an incremental run links only among the files it lists; the full sync completes them)" },
  { long: ["sparse"], short: "S", why: "writes holes in sparse files efficiently" },
  { long: ["whole-file"], short: "W", why: "sends whole files instead of deltas (faster on a fast network)" },
  { long: ["no-perms"], why: "leaves permissions on the target as the receiver creates them" },
  { long: ["no-owner"], why: "leaves owners on the target as the receiver creates them (a daemon that is not root cannot set them anyway)" },
  { long: ["no-group"], why: "leaves groups on the target as the receiver creates them" },
  { long: ["chmod"], value: { meta: "CHMOD", pattern: /^[^\s]+$/, what: "chmod items such as Du+rwx,Fgo-w", check: chmodProblem }, why: "adjusts permissions on the target; it may not add setuid or setgid" },
  { long: ["ipv4"], short: "4", why: "connects to the daemon over IPv4 only" },
  { long: ["ipv6"], short: "6", why: "connects to the daemon over IPv6 only" },
  { long: ["block-size"], value: { meta: "SIZE", pattern: /^\d+([kmg](i?b)?)?$/i, what: "a size such as 8192 or 128k" }, why: "sets the delta-transfer block size" },
  { long: ["max-size"], value: { meta: "SIZE", pattern: SIZE, what: "a size such as 500k, 1.5m or 2G" }, why: "does not send files over this size (the target keeps its copy; nothing is deleted because of it)" },
  { long: ["min-size"], value: { meta: "SIZE", pattern: SIZE, what: "a size such as 1k" }, why: "does not send files under this size (the target keeps its copy; nothing is deleted because of it)" },
  { long: ["modify-window"], value: { meta: "N", pattern: INT, what: "a whole number of seconds" }, why: "treats times this close as equal (FAT and other coarse filesystems)" },
  { long: ["omit-dir-times"], short: "O", why: "does not preserve directory times" },
  { long: ["omit-link-times"], short: "J", why: "does not preserve symlink times" },
  { long: ["super"], why: "asks the receiver to act as super-user for owners, devices and the like (the daemon decides)" },
  { long: ["fake-super"], why: "stores privileged attributes in extended attributes instead" },
  { long: ["one-file-system"], short: "x", why: "does not cross into other filesystems under the source, nor delete inside them on the target" },
  { long: ["safe-links"], why: "skips symlinks that point outside the tree (sends less, never more)" },
  { long: ["fsync"], why: "fsyncs every file it writes on the target" },
  { long: ["no-motd"], why: "suppresses the daemon's message of the day" },
];

// Reasons for options that are refused, by long name (without dashes).
const DELETES = "rtsync decides what is deleted (the listed paths on incremental runs, --delete-delay on full syncs)";
const FILE_LIST = "rtsync owns the file list (each incremental run is --from0 --include-from=- --exclude=*); use the watch's exclude: key";
const OUTPUT = "rtsync reads rsync's output (--info=stats1) and keeps its own log (stateDir/watches/NAME/log.jsonl)";
const MODE = "is an rsync mode, not a transfer option: rtsync runs rsync itself";
const ARCHIVE = "is already part of what rtsync passes (-a)";
const SKIPS = "the target would keep stale copies: rsync would skip files a full sync must repair";
const PATHS = "changes which paths rsync sends; rtsync builds the list of paths itself";
const SSH = "rtsync runs ssh itself for ssh:// targets (a pinned host key, one connection per lane); give the key, host key and port in the target's ssh: settings";
const FOLLOW = "rsync would follow symlinks in the source as root and copy what they point to, which may lie outside the source (/etc/shadow)";
const OWNERS = "it sets owners on the target as root (a copy of a setuid program could end up owned by root)";
const ARGS = "changes how rsync passes arguments and names; rtsync relies on the default";

const REFUSED: Record<string, string> = {
  exclude: "use the watch's exclude: key (it filters events too)",
  "exclude-from": "use the watch's exclude: key (it filters events too)",
  include: FILE_LIST,
  "include-from": FILE_LIST,
  "files-from": FILE_LIST,
  from0: FILE_LIST,
  filter: FILE_LIST,
  "cvs-exclude": FILE_LIST,
  "ignore-missing-args": FILE_LIST,
  "delete-missing-args": DELETES,
  del: DELETES,
  delete: DELETES,
  "delete-before": DELETES,
  "delete-during": DELETES,
  "delete-delay": DELETES,
  "delete-after": DELETES,
  "delete-excluded": `${DELETES}; on an incremental run, where everything unlisted is excluded, it would delete the whole target`,
  force: DELETES,
  "ignore-errors": `${DELETES}; a full sync must stop deleting when the source has an I/O error`,
  "max-delete": "use the watch's maxDelete: key (full syncs delete at most that many files)",
  "remove-source-files": "rsync would delete each source file once sent and the watcher would then delete the replica's copy, so both copies are lost",
  "remove-sent-files": "rsync would delete each source file once sent and the watcher would then delete the replica's copy, so both copies are lost",
  "dry-run": "nothing would be copied while status says synced",
  "list-only": "nothing would be copied while status says synced",
  "only-write-batch": "nothing would be copied while status says synced, and the batch file is written as root wherever it points",
  "write-batch": "the batch file is written as root wherever it points",
  "read-batch": "it applies a batch file instead of the source",
  daemon: MODE,
  config: MODE,
  dparam: MODE,
  detach: MODE,
  "no-detach": MODE,
  server: MODE,
  sender: MODE,
  version: MODE,
  help: MODE,
  "link-dest": "rtsync passes --link-dest or --copy-dest itself for directory renames",
  "copy-dest": "rtsync passes --link-dest or --copy-dest itself for directory renames",
  "compare-dest": "rtsync passes --link-dest or --copy-dest itself for directory renames",
  backup: "backup copies inside the target are deleted by the next full sync, and --backup-dir is written as root wherever it points",
  "backup-dir": "backup copies inside the target are deleted by the next full sync, and --backup-dir is written as root wherever it points",
  suffix: "backup copies inside the target are deleted by the next full sync",
  "temp-dir": "rsync would write its temporary files there as root: outside the target, or inside it where full syncs delete them",
  "log-file": `${OUTPUT}; rsync would append to that file as root wherever it points`,
  "log-file-format": OUTPUT,
  verbose: OUTPUT,
  quiet: OUTPUT,
  info: OUTPUT,
  debug: OUTPUT,
  stats: OUTPUT,
  progress: OUTPUT,
  "human-readable": OUTPUT,
  "itemize-changes": OUTPUT,
  "out-format": OUTPUT,
  "log-format": OUTPUT,
  "8-bit-output": OUTPUT,
  stderr: OUTPUT,
  msgs2stderr: OUTPUT,
  outbuf: OUTPUT,
  rsh: SSH,
  "rsync-path": SSH,
  "blocking-io": SSH,
  port: "the port is part of the target (rsync://host:PORT/module)",
  address: "the connection is part of the target; binding a local address is not supported",
  sockopts: "rtsync sets --sockopts=TCP_NODELAY itself",
  "password-file": "use users: and the target's user (rtsync writes the password file and passes it itself)",
  "early-input": "rsync would read that file as root and send it to the daemon",
  "remote-option": "it passes options to the daemon's side of the transfer, around this list",
  protocol: "rtsync relies on rsync's own protocol choice",
  "checksum-seed": "rtsync relies on rsync's own protocol choice",
  archive: ARCHIVE,
  recursive: ARCHIVE,
  links: ARCHIVE,
  perms: ARCHIVE,
  times: ARCHIVE,
  group: ARCHIVE,
  owner: ARCHIVE,
  devices: ARCHIVE,
  specials: ARCHIVE,
  "ignore-times": "rtsync passes it itself on incremental runs; on full syncs it would send every file again",
  update: SKIPS,
  existing: SKIPS,
  "ignore-non-existing": SKIPS,
  "ignore-existing": SKIPS,
  "size-only": `${SKIPS} (a rewrite that keeps a file's size)`,
  append: `${SKIPS} (a file whose copy is as long as the source)`,
  "append-verify": `${SKIPS} (a file whose copy is as long as the source)`,
  "copy-links": FOLLOW,
  "copy-unsafe-links": FOLLOW,
  "copy-dirlinks": FOLLOW,
  "keep-dirlinks": "rsync would treat a symlink to a directory on the target as that directory and write through it, as root, outside the target",
  "copy-devices": "rsync would read device contents as root",
  "write-devices": "rsync would write into device files on the target as root",
  chown: OWNERS,
  usermap: OWNERS,
  groupmap: OWNERS,
  "copy-as": OWNERS,
  relative: PATHS,
  "no-implied-dirs": PATHS,
  dirs: PATHS,
  "old-dirs": PATHS,
  mkpath: PATHS,
  "prune-empty-dirs": PATHS,
  iconv: "rtsync lists file names as raw bytes; converting their charset would make the list and the target disagree",
  "stop-after": "a run stopped early leaves its batch half sent; use --timeout for a stuck connection",
  "time-limit": "a run stopped early leaves its batch half sent; use --timeout for a stuck connection",
  "stop-at": "a run stopped early leaves its batch half sent; use --timeout for a stuck connection",
  "secluded-args": ARGS,
  "protect-args": ARGS,
  "old-args": ARGS,
  "trust-sender": ARGS,
};

/** rsync's short options, letter -> long name (F and P have none: F is a filter, P is --partial --progress). */
const SHORT: Record<string, string> = {
  "8": "8-bit-output", A: "acls", a: "archive", U: "atimes", b: "backup", B: "block-size", c: "checksum", z: "compress",
  k: "copy-dirlinks", L: "copy-links", N: "crtimes", C: "cvs-exclude", d: "dirs", n: "dry-run", E: "executability",
  f: "filter", "0": "from0", y: "fuzzy", g: "group", H: "hard-links", h: "human-readable", I: "ignore-times", "4": "ipv4",
  "6": "ipv6", i: "itemize-changes", K: "keep-dirlinks", l: "links", "@": "modify-window", O: "omit-dir-times",
  J: "omit-link-times", x: "one-file-system", o: "owner", p: "perms", m: "prune-empty-dirs", q: "quiet", r: "recursive",
  R: "relative", M: "remote-option", e: "rsh", s: "secluded-args", S: "sparse", T: "temp-dir", t: "times", u: "update",
  v: "verbose", V: "version", W: "whole-file", X: "xattrs", D: "devices", F: "filter", P: "progress",
};

const BY_LONG = new Map<string, AllowedOption>(ALLOWED_RSYNC_OPTIONS.flatMap((o) => o.long.map((n) => [n, o] as const)));
const NOT_ALLOWED = "is not one of the rsync options rtsync allows in rsyncArgs (see docs/manifest.md, \"Allowed rsyncArgs\")";

// Why a long option (name without dashes) is refused, or undefined when it is allowed.
function refusal(name: string): string {
  const reason = REFUSED[name];
  if (reason) return reason.startsWith("is ") ? reason : `is not allowed: ${reason}`;
  if (name.startsWith("no-")) return "is not allowed: it turns off part of what rtsync relies on";
  return NOT_ALLOWED;
}

function longProblem(name: string, value: string | undefined): string | undefined {
  const option = BY_LONG.get(name);
  if (!option) return refusal(name);
  if (!option.value) return value === undefined ? undefined : "takes no value";
  if (value === undefined) return `needs its value in the same item: --${name}=${option.value.meta} (each item is one argument)`;
  if (!option.value.pattern.test(value)) return `value ${JSON.stringify(value)} must be ${option.value.what}`;
  const why = option.value.check?.(value);
  return why ? `value ${JSON.stringify(value)} ${why}` : undefined;
}

/**
 * Why one rsyncArgs item is refused (the end of a sentence that starts with the item), or
 * undefined when it is allowed.
 */
export function rsyncArgProblem(arg: string): string | undefined {
  if (arg === "--") return "is not allowed: it ends rsync's options, so what rtsync adds after it (excludes, the file list) would be read as paths";
  if (!arg.startsWith("-") || arg === "-") return "is not an option: rsyncArgs holds options only (a path would become one more source)";
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return longProblem(eq < 0 ? arg.slice(2) : arg.slice(2, eq), eq < 0 ? undefined : arg.slice(eq + 1));
  }
  for (const letter of arg.slice(1)) {
    const name = SHORT[letter];
    if (name === undefined) return `has -${letter}, which ${NOT_ALLOWED}`;
    const option = BY_LONG.get(name);
    if (option?.value) return `has -${letter}, which takes a value: write it as one item, "--${name}=…"`;
    if (!option) {
      const why = letter === "P" ? "is not allowed: use --partial (rtsync reads rsync's output itself)" : refusal(name);
      return `has -${letter} (--${name}), which ${why}`;
    }
  }
  return undefined;
}

/** An allowed item that rsync refuses next to another one: the index of the later item and why. */
export function rsyncArgsConflict(args: readonly string[]): { readonly index: number; readonly message: string } | undefined {
  const inplace = args.findIndex((a) => a === "--inplace");
  const partialDir = args.findIndex((a) => a.startsWith("--partial-dir="));
  if (inplace < 0 || partialDir < 0) return undefined;
  const index = Math.max(inplace, partialDir);
  return { index, message: `rsyncArgs item ${JSON.stringify(args[index])} cannot go with ${JSON.stringify(args[Math.min(inplace, partialDir)])}: rsync refuses --inplace together with --partial-dir` };
}
