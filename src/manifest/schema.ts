import * as z from "zod";

// The manifest, version 1 (../shared/contract.md). This zod model is the only definition of the
// manifest's shape: the TypeScript types are inferred from it and schemas/rtsync.schema.json is
// generated from it. Checks that need more than one value (users named by authUsers exist, ports
// do not collide, …) live in checks/, reported at the offending value's line and column.

/** Names of daemons, modules, users and watches. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** `name`, `name:ro`, `name:rw` or `name:deny` in authUsers. */
export const AUTH_USER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(:(ro|rw|deny))?$/;
/** Durations: a whole number of milliseconds, or `250ms`, `2s`, `1m`. */
export const DURATION_PATTERN = /^\d+(ms|s|m)$/;

const nameKey = z.string().regex(NAME_PATTERN, {
  error: "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
});

const absolutePath = z.string().regex(/^\//, { error: "must be an absolute path (start with /)" });

const DURATION_ERROR = "must be a duration: a whole number of milliseconds or a string like 200ms, 2s, 1m";
const duration = z
  .union([z.number().int().nonnegative(), z.string().regex(DURATION_PATTERN, { error: DURATION_ERROR })], { error: DURATION_ERROR })
  .meta({ description: "Milliseconds, or a string like 200ms, 2s, 1m." });

const nodeList = z
  .array(nameKey)
  .min(1, { error: "must name at least one node (leave `nodes` out to run on every node)" })
  .meta({ description: "The machines (see --node) this runs on. Absent: every node." });

const hostList = z
  .array(z.string().min(1))
  .meta({ description: "rsyncd host patterns: addresses, CIDR networks, hostnames, wildcards." });

const optionValue = z.union([z.string(), z.number(), z.boolean()]);
const optionsMap = z.record(z.string(), optionValue);

export const PasswordSchema = z
  .union([
    z.strictObject({ env: z.string().min(1).meta({ description: "Environment variable holding the password." }) }),
    z.strictObject({ file: z.string().min(1).meta({ description: "File holding the password, relative to the manifest (one trailing newline is dropped)." }) }),
    z.strictObject({ value: z.string().min(1).meta({ description: "The password itself (warned: keep it out of git)." }) }),
  ])
  .meta({ description: "Where the password comes from: { env: NAME }, { file: PATH } or { value: ... }." });

export const UserSchema = z.strictObject({ password: PasswordSchema }).meta({ description: "An rsync virtual user (auth user) that modules name in authUsers and watch targets name as USER@host." });

export const SysctlSchema = z
  .strictObject({
    "fs.inotify.max_user_watches": z.number().int().positive().optional().meta({ description: "Directories inotify may watch per user, all instances together (one watch per directory of every source)." }),
    "fs.inotify.max_queued_events": z.number().int().positive().optional().meta({ description: "Events the kernel queues per inotify instance before it drops them (a drop triggers an immediate full sync)." }),
    "fs.inotify.max_user_instances": z.number().int().positive().optional().meta({ description: "inotify instances per user (one per watch job)." }),
  })
  .meta({ description: "Minimum inotify limits: raised when lower, never lowered." });

export const ModuleSchema = z.strictObject({
  path: absolutePath.meta({ description: "Directory the module exports; created when missing, owned by uid:gid." }),
  comment: z.string().optional().meta({ description: "rsyncd.conf `comment`: shown next to the module name in a module listing." }),
  readOnly: z.boolean().optional().meta({ description: "rsyncd.conf `read only`: clients may not upload (rsyncd's default is true: set false for a module watch jobs push to)." }),
  writeOnly: z.boolean().optional().meta({ description: "rsyncd.conf `write only`: clients may not download." }),
  list: z.boolean().optional().meta({ description: "rsyncd.conf `list`: whether the module appears in a module listing." }),
  ignoreErrors: z.boolean().optional().meta({ description: "rsyncd.conf `ignore errors`: delete on the receiving side even after I/O errors." }),
  hostsAllow: hostList.optional(),
  hostsDeny: hostList.optional(),
  authUsers: z
    .array(z.string().regex(AUTH_USER_PATTERN, { error: "must be a user name, optionally followed by :ro, :rw or :deny" }))
    .optional()
    .meta({ description: "Users (from `users`) who may log in: name, name:ro, name:rw or name:deny." }),
  options: optionsMap.optional().meta({ description: "Any other rsyncd.conf module parameter, by its rsyncd.conf name (\"dont compress\": \"*.gz\"); unknown names are errors." }),
});

export const DaemonSchema = z.strictObject({
  nodes: nodeList.optional(),
  config: absolutePath.optional().meta({ description: "Where the rendered rsyncd.conf goes. Default: under stateDir." }),
  address: z.string().min(1).default("0.0.0.0").meta({ description: "The address the daemon listens on." }),
  port: z.number().int().min(1).max(65535).default(873).meta({ description: "The TCP port the daemon listens on." }),
  uid: z.union([z.string().min(1), z.number().int().nonnegative()]).optional().meta({ description: "User (name or number) the daemon's transfers run as; module directories are owned by it. As root with neither uid nor gid, rsyncd uses nobody, and module directories are owned by nobody:nogroup." }),
  gid: z.union([z.string().min(1), z.number().int().nonnegative()]).optional().meta({ description: "Group (name or number) the daemon's transfers run as." }),
  createAccount: z.boolean().default(false).meta({ description: "Ensure uid/gid exist as a system account (no login shell, no home)." }),
  useChroot: z.boolean().optional().meta({ description: "rsyncd.conf `use chroot`: chroot into the module's path for each transfer." }),
  maxConnections: z.number().int().nonnegative().optional().meta({ description: "rsyncd.conf `max connections` (0: no limit)." }),
  timeout: z.number().int().nonnegative().optional().meta({ description: "rsyncd.conf `timeout`, in seconds: drop a client that sends nothing for this long (0: never)." }),
  pidFile: absolutePath.optional().meta({ description: "Default: under stateDir." }),
  lockFile: absolutePath.optional().meta({ description: "rsyncd.conf `lock file` (for max connections). Default: under stateDir." }),
  logFile: absolutePath.optional().meta({ description: "rsyncd.conf `log file`. Default: under stateDir." }),
  secretsFile: absolutePath.optional().meta({ description: "Rendered from `users`, mode 0600. Default: under stateDir when a module has authUsers." }),
  hostsAllow: hostList.optional(),
  hostsDeny: hostList.optional(),
  options: optionsMap.optional().meta({ description: "Any other global rsyncd.conf parameter, by its rsyncd.conf name (\"motd file\": /etc/motd); unknown names are errors." }),
  modules: z.record(nameKey, ModuleSchema).default({}).meta({ description: "The modules (exported directories) by name: rsync://host:port/NAME." }),
}).meta({ description: "A receiving side: one rsync daemon (rsync --daemon) with its rsyncd.conf, secrets file and module directories." });

const TARGET_FORMS =
  "rsync://[user@]host[:port]/module[/path], [user@]host::module[/path], ssh://user@host[:port]/absolute/path (in the object form, with ssh: settings), or a local absolute directory.";

/** An ssh public key line's type and base64 body (and an optional comment). */
export const SSH_PUBLIC_KEY_PATTERN = /^(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: [^\r\n\0]*)?$/;

export const SshSettingsSchema = z
  .strictObject({
    identityFile: absolutePath.meta({ description: "The private key ssh logs in with: owned by the user rtsync runs as, mode 0600 (checked at validate and apply; never read, never printed)." }),
    hostKey: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "The host's public key, pinned (`ssh-ed25519 AAAA…`, as ssh-keyscan prints it without the host). rtsync writes it into a known_hosts file of its own under stateDir." }),
    knownHosts: absolutePath.optional().meta({ description: "Instead of hostKey: a known_hosts file the node owns, holding the host's key." }),
    port: z.number().int().min(1).max(65535).optional().meta({ description: "The ssh port (default 22, or the URL's)." }),
  })
  .meta({ description: "How rtsync logs in to an ssh:// target: the host key is pinned (StrictHostKeyChecking=yes, BatchMode=yes); nothing of ~/.ssh/config is used." });

const fullSync = z
  .strictObject({
    schedule: z.string().min(1).meta({ description: "Cron: 5 fields, or 6 with seconds first." }),
  })
  .meta({ description: "Scheduled full rsync --delete-delay, the safety net for dropped events and the check that repairs (and counts) what the events never saw. Default: adaptive, every 5 to 15 minutes so that full syncs cost at most 2 % of one core." });

const maxDelete = z
  .number()
  .int()
  .positive()
  .meta({ description: "Full syncs delete at most this many files on the target (rsync --max-delete); past it the job halts. Incremental runs delete exactly what was deleted." });

const rsyncArgs = z
  .array(z.string().min(1))
  .meta({ description: "Extra rsync options for every run, one whole option per item (--bwlimit=1000); only the options listed under \"Allowed rsyncArgs\" in docs/manifest.md are allowed." });

/** One entry of `targets`: a destination, or a destination with its own settings. */
export const TargetEntrySchema = z
  .union([
    z.string().min(1).meta({ description: TARGET_FORMS }),
    z.strictObject({
      url: z.string().min(1).meta({ description: TARGET_FORMS }),
      rsyncArgs: rsyncArgs.optional().meta({ description: "Replaces the watch's rsyncArgs for this target." }),
      fullSync: fullSync.optional().meta({ description: "Replaces the watch's fullSync for this target." }),
      maxDelete: maxDelete.optional().meta({ description: "Replaces the watch's maxDelete for this target." }),
      ssh: SshSettingsSchema.optional(),
    }),
  ])
  .meta({ description: "A target as `target` takes it, or { url, rsyncArgs, fullSync, maxDelete, ssh } to give it settings of its own (an ssh:// target needs ssh)." });

export const SshReceiverSchema = z
  .strictObject({
    nodes: nodeList.optional(),
    account: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "must be a system account name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters" })
      .meta({ description: "The system account the senders log in as." }),
    createAccount: z.boolean().default(false).meta({ description: "Create the account (a system account, no password, a shell rrsync can run under) when it is missing." }),
    path: absolutePath.meta({ description: "The directory the senders write into: created, owned by the account." }),
    authorizedKeys: z
      .array(z.string().min(1))
      .meta({ description: "Public keys of the senders, written into the account's authorized_keys as `restrict,command=\"rrsync -wo PATH\"` lines marked as rtsync's; other lines are left alone." }),
  })
  .meta({ description: "The receiving side of ssh:// targets: an account whose keys may only write into `path` through rrsync." });

export const WatchSchema = z.strictObject({
  nodes: nodeList.optional(),
  source: absolutePath.meta({ description: "The directory tree to watch and push." }),
  target: z.string().min(1).optional().meta({ description: `${TARGET_FORMS} (or \`targets\` for several).` }),
  targets: z
    .array(TargetEntrySchema)
    .optional()
    .meta({ description: "Instead of `target`: several replicas of the source, each with its own queue, retries and schedule (a lane); a target that is down never delays another. One destination twice, one inside another, or two watches on one target are errors." }),
  exclude: z.array(z.string().min(1)).default([]).meta({ description: "rsync exclude patterns; apply to events and to every run." }),
  delay: duration.default(0).meta({ description: "Extra wait to gather a batch (0: send after a quiet spell at once)." }),
  settle: duration
    .default("2s")
    .meta({ description: "A file written but not closed yet (a log, a database) is sent after this long, and again every as long while it keeps changing; a close sends at once." }),
  watcher: z
    .enum(["auto", "inotify", "inotifywait", "chokidar", "poll"])
    .default("auto")
    .meta({ description: "The event source. auto: rtsync's own inotify on Linux, inotifywait where that could not be built, else chokidar; poll: chokidar polling, for network filesystems where inotify sees nothing." }),
  maxDelete: maxDelete.optional(),
  rsyncArgs: rsyncArgs.default([]),
  initialSync: z.boolean().default(true).meta({ description: "Run a full sync when the watcher starts (it brings the target up to date with whatever changed while nothing watched)." }),
  fullSync: fullSync.optional(),
}).meta({ description: "A sending side: a watch job that follows `source` with inotify and pushes every change to its target(s) within a fraction of a second." });

export const ManifestSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "The JSON Schema editors check the file against (ignored by rtsync)." }),
    version: z.literal(1, { error: "must be 1 (the only manifest version)" }).meta({ description: "The manifest format version: 1." }),
    name: nameKey.optional().meta({
      description:
        "The manifest's stable identity in stateDir: what rtsync started for it belongs to this name, whatever path or checkout the manifest is applied from. Without it, a stateDir holds one manifest's resources.",
    }),
    stateDir: absolutePath.optional().meta({
      description: "Pid files, watcher status, logs. Default: /var/lib/rtsync as root, else $XDG_STATE_HOME/rtsync.",
    }),
    sysctl: SysctlSchema.optional(),
    sysctlFile: absolutePath.optional().meta({ description: "Also persist the sysctl values in this file." }),
    users: z.record(nameKey, UserSchema).default({}).meta({ description: "rsync virtual users by name; passwords are never inline in git." }),
    daemons: z.record(nameKey, DaemonSchema).default({}).meta({ description: "Receiving sides: rsync daemons by name." }),
    sshReceivers: z.record(nameKey, SshReceiverSchema).default({}).meta({ description: "Receiving sides over ssh: an account restricted to rrsync, by name." }),
    watches: z.record(nameKey, WatchSchema).default({}).meta({ description: "Sending sides: watch jobs by name." }),
  })
  .meta({ title: "rtsync manifest", description: "rtsync: rsync daemons, inotify limits and real-time watch jobs as config-as-code." });

export type Manifest = z.infer<typeof ManifestSchema>;
export type Daemon = z.infer<typeof DaemonSchema>;
export type Module = z.infer<typeof ModuleSchema>;
export type Watch = z.infer<typeof WatchSchema>;
export type Password = z.infer<typeof PasswordSchema>;
export type SshSettings = z.infer<typeof SshSettingsSchema>;
export type SshReceiver = z.infer<typeof SshReceiverSchema>;
export type SysctlKey = keyof z.infer<typeof SysctlSchema>;
export type OptionValue = z.infer<typeof optionValue>;
