import { closeSync, constants, openSync } from "node:fs";

// The running agent holds its stateDir open as a descriptor for as long as it serves it, so that
// `rtsync status` can tell which agent runs for a stateDir from /proc/PID/fd (readAgentPids) even
// while the agent cannot write its status document there (a full disk, an immutable directory).
// A descriptor costs nothing and needs no write (libuv opens it close-on-exec: no child inherits it).

export interface StateDirMark {
  /** Holds `stateDir` (and lets go of the one held before, if another). */
  hold(stateDir: string): void;
  close(): void;
}

export function startStateDirMark(): StateDirMark {
  let held: { readonly dir: string; readonly fd: number } | undefined;
  const release = (): void => {
    if (held !== undefined) closeSync(held.fd);
    held = undefined;
  };
  return {
    hold: (dir) => {
      if (held?.dir === dir) return;
      release();
      try {
        held = { dir, fd: openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY) };
      } catch {
        // Not there yet (the first reconcile makes it): held on the next call.
      }
    },
    close: release,
  };
}
