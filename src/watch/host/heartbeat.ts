import { closeSync, constants, fstatSync, futimesSync, openSync, statSync } from "node:fs";

// The watch host's heartbeat: every beat (2 s), the modification time of one empty file is set to now
// (futimes on a descriptor held open: one system call, on the event loop, so it stops with the
// loop; a document rewritten every second cost the host ~0.25 s of CPU a minute through the
// thread pool). Readers take the file's mtime as the heartbeat of every job the host runs
// (state/host-jobs.ts readHostHeartbeat). A file removed or replaced is opened again; a time that
// cannot be set (an immutable file) is tried again at the next beat, and readers see the
// heartbeat age meanwhile.

export interface Heartbeat {
  stop(): void;
}

/** `alsoEachBeat`: other periodic work of the process, on the same timer (one wake-up a beat, not two). */
export function startHeartbeat(file: string, everyMs: number, alsoEachBeat?: () => void): Heartbeat {
  let fd: number | undefined;
  const open = (): number => openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const beat = (): void => {
    try {
      // Still the file at that path? (removed, or replaced by a rename: open the new one)
      if (fd !== undefined && statSync(file, { throwIfNoEntry: false })?.ino !== fstatSync(fd).ino) {
        closeSync(fd);
        fd = undefined;
      }
      fd ??= open();
      const now = new Date();
      futimesSync(fd, now, now);
    } catch {
      // the next beat tries again
    }
    alsoEachBeat?.();
  };
  beat();
  const timer = setInterval(beat, everyMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
