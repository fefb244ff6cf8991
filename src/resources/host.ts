// The OS seam: where readers and appliers find the kernel's and the system's files. Tests point
// `procSysRoot` at a directory of real files (RTSYNC_PROC_SYS) to exercise a read-only /proc
// without touching the machine's limits.
export interface Host {
  readonly procSysRoot: string;
  readonly procRoot: string;
  readonly etcRoot: string;
  /** uid and gid rtsync runs as. */
  readonly uid: number;
  readonly gid: number;
  readonly now: () => Date;
}

export function systemHost(env: Readonly<Record<string, string | undefined>> = process.env): Host {
  return {
    procSysRoot: env["RTSYNC_PROC_SYS"] ?? "/proc/sys",
    procRoot: "/proc",
    etcRoot: "/etc",
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    now: () => new Date(),
  };
}
