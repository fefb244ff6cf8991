import { mkdir, rm, utimes } from "node:fs/promises";
import lockfile from "proper-lockfile";
import { describeErrno, errnoOf, RtsyncError, StateError } from "../core/errors.ts";
import { isAlive } from "../resources/process/identity.ts";
import { stateDirHint } from "../state/document.ts";
import { stateLayout } from "../state/layout.ts";
import { readLockOwner, writeLockOwner } from "../state/lock-owner.ts";

// Serialises applies (and downs) on one stateDir. A second one waits a few seconds, then says who
// holds the lock. A lock whose owner process is dead (an apply killed with SIGKILL) is taken over
// at once rather than after proper-lockfile's 15 s staleness.

export interface LockOptions {
  /** How long to wait for another apply before giving up, in ms. */
  readonly waitMs?: number;
}

export async function acquireApplyLock(stateDir: string, manifest: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StateError(stateDir, "io", `cannot create stateDir ${stateDir}: ${describeErrno(e)}${stateDirHint(e)}`, { cause: e });
  }
  const lockPath = stateLayout.lock(stateDir);
  const ownerPath = stateLayout.lockOwner(stateDir);
  const waitMs = options.waitMs ?? 5000;
  const take = () =>
    lockfile.lock(stateDir, {
      lockfilePath: lockPath,
      stale: 15_000,
      update: 5_000,
      retries: { retries: Math.ceil(waitMs / 200), factor: 1, minTimeout: 200, maxTimeout: 200 },
    });
  let release: () => Promise<void>;
  try {
    const owner = await readLockOwner(stateDir);
    // The owner died without releasing: make the lock look stale so it is taken over now.
    if (owner !== undefined && !isAlive(owner.pid)) await utimes(lockPath, 0, 0).catch(() => undefined);
    release = await take();
  } catch (e) {
    if (errnoOf(e) !== "ELOCKED") throw new StateError(lockPath, "io", `cannot lock ${lockPath}: ${describeErrno(e)}${stateDirHint(e)}`, { cause: e });
    const owner = await readLockOwner(stateDir);
    const who = owner ? `rtsync (pid ${owner.pid}, started ${owner.startedAt}, manifest ${owner.manifest})` : "another rtsync";
    throw new RtsyncError("E_LOCK", "user", `${stateDir} is locked by ${who}; waited ${Math.round(waitMs / 1000)}s, try again when it has finished`, { cause: e });
  }
  try {
    await writeLockOwner(stateDir, { pid: process.pid, startedAt: new Date().toISOString(), manifest });
  } catch (e) {
    await release();
    throw e;
  }
  return async () => {
    await rm(ownerPath, { force: true });
    await release();
  };
}

/** Runs `f` holding the stateDir's apply lock. */
export async function withApplyLock<T>(stateDir: string, manifest: string, f: () => Promise<T>): Promise<T> {
  const release = await acquireApplyLock(stateDir, manifest);
  try {
    return await f();
  } finally {
    await release();
  }
}
