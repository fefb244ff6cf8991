import { ApplyError, messageOf } from "../../core/errors.ts";
import { stateLayout } from "../../state/layout.ts";
import type { ApplyContext } from "../types.ts";
import { stopProcess } from "./identity.ts";

/**
 * Records a process just started; one that cannot be recorded is stopped again, since rtsync would
 * not know it as its own (and a daemon would hold its port forever).
 */
export async function recordOrStop(ctx: ApplyContext, pid: number, graceMs: number, record: Parameters<ApplyContext["updateInventory"]>[0]): Promise<void> {
  try {
    await ctx.updateInventory(record);
  } catch (error) {
    await stopProcess(pid, graceMs).catch(() => undefined);
    throw new ApplyError(`started pid ${pid} but could not record it in ${stateLayout.inventory(ctx.stateDir)}, so stopped it again: ${messageOf(error)}`, { cause: error });
  }
}
