import { ApplyError, messageOf } from "../../core/errors.ts";
import type { Inventory } from "../../state/inventory.ts";
import { stateLayout } from "../../state/layout.ts";
import type { ApplyContext } from "../types.ts";
import { isSameProcess, readProcessInfo, stopProcess } from "./identity.ts";
import type { StopTarget } from "./job.ts";

// Carrying out a job decision: stop what must go (each checked again just before the signal, so a
// pid reused meanwhile is never hit), then adopt or start, recording the process in the inventory
// before and after the spawn. The intent (pid 0) is written first; if apply is killed between the
// spawn and the second write, the process carries its marker and the next plan adopts it.

export async function stopTargets(ctx: ApplyContext, targets: readonly StopTarget[], graceMs: number): Promise<void> {
  for (const t of targets) {
    if (isSameProcess(await readProcessInfo(ctx.host, t.pid), t)) await stopProcess(t.pid, graceMs);
  }
}

/** How a process is recorded: pid 0 for the intent, else its identity read from /proc. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly uid?: number;
  readonly startTime?: number;
}

export interface RecordKeeping {
  /** Puts the job's record, with this process identity, into the inventory. */
  readonly put: (inventory: Inventory, identity: ProcessIdentity) => void;
  /** Removes the job's record (a start that failed leaves no intent behind). */
  readonly remove: (inventory: Inventory) => void;
  readonly graceMs: number;
}

async function identityOf(ctx: ApplyContext, pid: number): Promise<ProcessIdentity> {
  const info = await readProcessInfo(ctx.host, pid);
  return info === undefined ? { pid } : { pid, uid: info.uid, startTime: info.startTime };
}

/**
 * Records the intent, stops what must go, starts the process, records it. The intent comes first
 * so that an inventory that cannot be written changes nothing (the old process keeps running). A
 * process that started but could not be recorded is stopped again: rtsync would not know it as
 * its own (a daemon would hold its port).
 */
export async function startRecorded(ctx: ApplyContext, keeping: RecordKeeping, stop: readonly StopTarget[], start: () => Promise<number>): Promise<number> {
  await ctx.updateInventory((inv) => keeping.put(inv, { pid: 0 }));
  await stopTargets(ctx, stop, keeping.graceMs);
  let pid: number;
  try {
    pid = await start();
  } catch (error) {
    await ctx.updateInventory((inv) => keeping.remove(inv)).catch(() => undefined);
    throw error;
  }
  try {
    const identity = await identityOf(ctx, pid);
    await ctx.updateInventory((inv) => keeping.put(inv, identity));
  } catch (error) {
    await stopProcess(pid, keeping.graceMs).catch(() => undefined);
    throw new ApplyError(`started pid ${pid} but could not record it in ${stateLayout.inventory(ctx.stateDir)}, so stopped it again: ${messageOf(error)}`, { cause: error });
  }
  return pid;
}
