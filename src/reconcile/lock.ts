import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { RtsyncError } from "../core/errors.ts";

// Serialises applies on one stateDir. A second apply waits a few seconds, then says who holds it.

export interface LockOptions {
  /** How long to wait for another apply before giving up, in ms. */
  readonly waitMs?: number;
}

export async function acquireApplyLock(stateDir: string, manifest: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true, mode: 0o755 });
  const lockPath = join(stateDir, "apply.lock");
  const ownerPath = join(stateDir, "apply.lock.owner");
  const waitMs = options.waitMs ?? 5000;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(stateDir, {
      lockfilePath: lockPath,
      stale: 15_000,
      update: 5_000,
      retries: { retries: Math.ceil(waitMs / 200), factor: 1, minTimeout: 200, maxTimeout: 200 },
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ELOCKED") throw e;
    const owner = await readFile(ownerPath, "utf8")
      .then((t) => JSON.parse(t) as { pid: number; startedAt: string; manifest: string })
      .catch(() => undefined);
    const who = owner ? `rtsync apply (pid ${owner.pid}, started ${owner.startedAt}, manifest ${owner.manifest})` : "another rtsync apply";
    throw new RtsyncError("E_LOCK", "user", `${stateDir} is locked by ${who}; waited ${Math.round(waitMs / 1000)}s, try again when it has finished`, { cause: e });
  }
  await writeFile(ownerPath, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), manifest }));
  return async () => {
    await rm(ownerPath, { force: true });
    await release();
  };
}
