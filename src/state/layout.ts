import { join } from "node:path";

// Where things live under stateDir. Every path rtsync derives from stateDir is named here once.

export const stateLayout = {
  inventory: (stateDir: string) => join(stateDir, "inventory.json"),
  lock: (stateDir: string) => join(stateDir, "apply.lock"),
  lockOwner: (stateDir: string) => join(stateDir, "apply.lock.owner"),
  daemonDir: (stateDir: string, name: string) => join(stateDir, "daemons", name),
  watchDir: (stateDir: string, name: string) => join(stateDir, "watches", name),
  /** The agent's documents: status.json (the running agent's view), revision.json (what it applied). */
  agentStatus: (stateDir: string) => join(stateDir, "agent", "status.json"),
  agentRevision: (stateDir: string) => join(stateDir, "agent", "revision.json"),
  /**
   * An ssh target's control socket (one master connection per lane): short, as a socket path
   * may hold ~108 bytes and ssh adds 17 while it creates one. `id` is a hash of the lane.
   */
  sshControl: (stateDir: string, id: string) => join(stateDir, "ssh", id),
  /** The watch host's directory: jobs.json (what it should run), status.json (what it runs), host.log. */
  hostDir: (stateDir: string) => join(stateDir, "host"),
} as const;

/** The files of the watch host (`rtsync __host STATEDIR`), inside its host directory. */
export const hostFiles = {
  /** The jobs it should run, written by apply and down (under the apply lock). */
  jobs: (hostDir: string) => join(hostDir, "jobs.json"),
  /** What it runs, written by the host. */
  status: (hostDir: string) => join(hostDir, "status.json"),
  /** A socket the agent holds a connection to: closed by the kernel the moment the host dies. */
  alive: (hostDir: string) => join(hostDir, "alive.sock"),
  /** The host's heartbeat: its modification time, set every second (the file is empty). */
  heartbeat: (hostDir: string) => join(hostDir, "heartbeat"),
  output: (hostDir: string) => join(hostDir, "host.log"),
} as const;

/** The files of one watcher, inside its watch directory. */
export const watchFiles = {
  spec: (watchDir: string) => join(watchDir, "spec.json"),
  status: (watchDir: string) => join(watchDir, "status.json"),
  log: (watchDir: string) => join(watchDir, "log.jsonl"),
  /** The client password file; one per user when a watch's targets log in as several. */
  password: (watchDir: string, user?: string) => join(watchDir, user === undefined ? "password" : `password-${user}`),
  output: (watchDir: string) => join(watchDir, "watcher.log"),
  /** The known_hosts file rtsync writes from an ssh target's pinned hostKey; `id` is a hash of the target. */
  knownHosts: (watchDir: string, id: string) => join(watchDir, `known_hosts-${id}`),
  /** A full sync asked for from outside (the agent), read on SIGUSR2. */
  fullSyncRequest: (watchDir: string) => join(watchDir, "full-sync-request.json"),
  /** The source root's identity as the job first found it (state/source-identity.ts). */
  sourceIdentity: (watchDir: string) => join(watchDir, "source-identity.json"),
} as const;

/** The files of one daemon that rtsync keeps in its daemon directory by default. */
export const daemonFiles = {
  config: (daemonDir: string) => join(daemonDir, "rsyncd.conf"),
  pid: (daemonDir: string) => join(daemonDir, "rsyncd.pid"),
  lock: (daemonDir: string) => join(daemonDir, "rsyncd.lock"),
  log: (daemonDir: string) => join(daemonDir, "rsyncd.log"),
  secrets: (daemonDir: string) => join(daemonDir, "rsyncd.secrets"),
  stderr: (daemonDir: string) => join(daemonDir, "rsyncd.stderr"),
} as const;
