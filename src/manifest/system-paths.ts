// Which paths a manifest may hand to rtsync, which runs as root and chowns, writes, replaces and
// deletes what the manifest names (issue 13). Pure: the rules see the path text only (normalised,
// never resolved on disk: a symlinked parent is the apply side's concern). docs/security-model.md, "Paths
// rtsync refuses" describes the same rules.

/** Trees no directory rtsync owns may be, contain or lie inside. */
export const SYSTEM_TREES = [
  "/etc",
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/boot",
  "/dev",
  "/proc",
  "/sys",
  "/var/spool/cron",
  "/var/lib/dpkg",
  "/var/lib/apt",
  "/var/lib/rpm",
  "/run/systemd",
  "/run/user",
] as const;

/**
 * Directories that are system directories themselves: no directory rtsync owns may be or contain
 * one, but a directory of its own inside them is fine (/var/lib/rtsync, /srv/backup, /run/x).
 */
export const SYSTEM_DIRS = [
  "/",
  "/run",
  "/run/lock",
  "/var",
  "/var/lib",
  "/var/log",
  "/var/cache",
  "/var/spool",
  "/var/tmp",
  "/var/mail",
  "/var/backups",
  "/tmp",
  "/home",
  "/root",
  "/srv",
  "/opt",
  "/mnt",
  "/media",
] as const;

/** Kernel filesystems: nothing of rtsync's may lie there, not even a file. */
const KERNEL_TREES = ["/proc", "/sys", "/dev"] as const;

/** Trees of programs, libraries and the kernel: a file written there could replace one. */
const PROGRAM_TREES = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot"] as const;

/** Inside PROGRAM_TREES, the places where configuration and state files do belong. */
const FILE_PLACES_IN_PROGRAM_TREES = ["/usr/local/etc", "/usr/local/var"] as const;

/** Files other programs own; rtsync must never write one. */
const SYSTEM_FILES: Readonly<Record<string, string>> = {
  "/etc/passwd": "the user database",
  "/etc/passwd-": "the user database's backup",
  "/etc/shadow": "the password hashes",
  "/etc/shadow-": "the password hashes' backup",
  "/etc/group": "the group database",
  "/etc/group-": "the group database's backup",
  "/etc/gshadow": "the group password hashes",
  "/etc/gshadow-": "the group password hashes' backup",
  "/etc/subuid": "the subordinate user ids",
  "/etc/subgid": "the subordinate group ids",
  "/etc/sudoers": "sudo's rules",
  "/etc/hosts": "the host name table",
  "/etc/hostname": "the host name",
  "/etc/hosts.allow": "the TCP wrappers' allow list",
  "/etc/hosts.deny": "the TCP wrappers' deny list",
  "/etc/resolv.conf": "the DNS resolver's configuration",
  "/etc/nsswitch.conf": "the name service configuration",
  "/etc/fstab": "the filesystem table",
  "/etc/mtab": "the mount table",
  "/etc/crontab": "the system crontab, run as root",
  "/etc/anacrontab": "anacron's table, run as root",
  "/etc/nologin": "the file whose presence stops every login",
  "/etc/profile": "the login shells' start-up file",
  "/etc/bash.bashrc": "bash's start-up file",
  "/etc/environment": "every login's environment",
  "/etc/ld.so.preload": "the libraries preloaded into every program",
  "/etc/ld.so.conf": "the dynamic linker's search path",
  "/etc/ld.so.cache": "the dynamic linker's cache",
  "/etc/login.defs": "the login and account defaults",
  "/etc/shells": "the list of login shells",
  "/etc/securetty": "the terminals root may log in on",
  "/etc/inittab": "init's configuration",
  "/etc/rc.local": "a script run as root at boot",
  "/etc/sysctl.conf": "the administrator's own sysctl settings",
  "/etc/modules": "the kernel modules loaded at boot",
  "/etc/machine-id": "the machine's identity",
  "/etc/os-release": "the system's identity",
  "/etc/exports": "the NFS exports",
};

/** Directories whose every file a root process reads as configuration or runs. */
const ROOT_READ_DIRS = [
  "/etc/sudoers.d",
  "/etc/cron.d",
  "/var/spool/cron",
  "/var/lib/dpkg",
  "/etc/cron.hourly",
  "/etc/cron.daily",
  "/etc/cron.weekly",
  "/etc/cron.monthly",
  "/etc/cron.yearly",
  "/etc/profile.d",
  "/etc/ld.so.conf.d",
  "/etc/pam.d",
  "/etc/security",
  "/etc/ssh",
  "/etc/systemd",
  "/etc/init.d",
  "/etc/rc0.d",
  "/etc/rc1.d",
  "/etc/rc2.d",
  "/etc/rc3.d",
  "/etc/rc4.d",
  "/etc/rc5.d",
  "/etc/rc6.d",
  "/etc/rcS.d",
  "/etc/modprobe.d",
  "/etc/modules-load.d",
  "/etc/udev",
  "/etc/apt",
  "/etc/logrotate.d",
  "/etc/default",
  "/etc/tmpfiles.d",
  "/etc/binfmt.d",
  "/etc/environment.d",
  "/etc/polkit-1",
  "/etc/dbus-1",
  "/etc/network",
  "/etc/NetworkManager",
] as const;

/** Where sysctl reads its files: only sysctlFile belongs there. */
const SYSCTL_DIR = "/etc/sysctl.d";

/** Paths that are symlinks to another on every current Linux distribution. */
const ALIASES: ReadonlyArray<readonly [string, string]> = [
  ["/var/run", "/run"],
  ["/var/lock", "/run/lock"],
];

/** True when `path` is `parent` or lies inside it (both normalised). */
export function within(path: string, parent: string): boolean {
  return path === parent || parent === "/" || path.startsWith(`${parent}/`);
}

export interface NormalPath {
  /** Absolute, without `.`, `..`, empty segments or a trailing slash; /var/run is /run. */
  readonly path: string;
  /** The text had `..` segments (refused: the manifest must say what it means). */
  readonly dotdot: boolean;
}

/** The normalised form of an absolute path, as the path checks and the collision check see it. */
export function normalisePath(text: string): NormalPath {
  const out: string[] = [];
  let dotdot = false;
  for (const seg of text.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      dotdot = true;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  let path = `/${out.join("/")}`;
  for (const [alias, real] of ALIASES) if (within(path, alias)) path = real + path.slice(alias.length);
  return { path, dotdot };
}

function treeOf(path: string, trees: readonly string[]): string | undefined {
  return trees.find((t) => within(path, t));
}

/** What kind of directory a check is about: its name in messages, why it matters, an example. */
export interface DirRole {
  readonly label: string;
  readonly why: string;
  readonly example: string;
  /** Only read (a watch source): a directory inside /etc or /usr is fine, a kernel tree is not. */
  readonly readOnly?: boolean;
}

/** Why a directory rtsync owns (or reads, for `readOnly`) is refused, or undefined. `path` is normalised. */
export function dirProblem(path: string, role: DirRole): string | undefined {
  const fix = `use a directory of its own such as ${role.example}`;
  if (path === "/") return `${role.label} / is the root directory; ${role.why}; ${fix}`;
  const system = SYSTEM_TREES.find((t) => t === path) ?? SYSTEM_DIRS.find((t) => t === path);
  if (system) return `${role.label} ${path} is a system directory; ${role.why}; ${fix}`;
  const contained = [...SYSTEM_TREES, ...SYSTEM_DIRS].find((t) => t !== "/" && within(t, path));
  if (contained) return `${role.label} ${path} contains the system directory ${contained}; ${role.why}; ${fix}`;
  const inside = treeOf(path, role.readOnly ? KERNEL_TREES : SYSTEM_TREES);
  if (inside) {
    const what = role.readOnly ? "a kernel filesystem (inotify reports nothing there, and reading it has side effects)" : "a system tree";
    return `${role.label} ${path} lies inside ${inside}, ${what}; ${role.why}; ${fix}`;
  }
  if (path.split("/").includes(".ssh")) return `${role.label} ${path} lies inside an .ssh directory (SSH keys and authorized_keys); ${role.why}; ${fix}`;
  return undefined;
}

/** A file rtsync writes: its key and an example of a good place for it. */
export interface FileRole {
  readonly label: string;
  readonly example: string;
  /** sysctlFile may live in /etc/sysctl.d; nothing else may. */
  readonly sysctl?: boolean;
  /** rsyncd reads it as root (a motd file, include from): said so in messages. */
  readonly readByRsyncd?: boolean;
}

/** Why a file rtsync writes is refused, or undefined. `path` is normalised. */
export function fileProblem(path: string, role: FileRole): string | undefined {
  const fix = `use a file of its own such as ${role.example}`;
  const start = `${role.label} ${path}`;
  if (path === "/" || (SYSTEM_TREES as readonly string[]).includes(path) || (SYSTEM_DIRS as readonly string[]).includes(path)) {
    return `${start} is a system directory, not a file of its own; ${fix}`;
  }
  const kernel = treeOf(path, KERNEL_TREES);
  if (kernel) return `${start} lies inside ${kernel}, a kernel filesystem: writing there changes the running system; ${fix}`;
  const program = treeOf(path, PROGRAM_TREES);
  if (program && !treeOf(path, FILE_PLACES_IN_PROGRAM_TREES)) {
    return `${start} lies inside ${program}, which holds programs, libraries or the kernel: a file written there could replace one; ${fix}`;
  }
  const system = SYSTEM_FILES[path];
  if (system) return `${start} is ${system}, a system file rtsync must never ${role.readByRsyncd ? "hand to rsyncd" : "write"}; ${fix}`;
  const rootRead = treeOf(path, ROOT_READ_DIRS);
  if (rootRead) return `${start} lies inside ${rootRead}, whose files a root process reads as configuration or runs; ${fix}`;
  if (!role.sysctl && within(path, SYSCTL_DIR)) return `${start} lies inside ${SYSCTL_DIR}, which sysctl reads at boot: only sysctlFile belongs there; ${fix}`;
  if (path.split("/").includes(".ssh")) return `${start} lies inside an .ssh directory (SSH keys and authorized_keys); ${fix}`;
  if (/^\/(root|home\/[^/]+)\/\.[^/]+$/.test(path)) return `${start} is a dotfile in a home directory, which a shell or a program reads at start-up; ${fix}`;
  return undefined;
}
