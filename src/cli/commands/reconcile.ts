import { RtsyncError } from "../../errors.ts";
import type { Output } from "../output.ts";

export interface ReconcileOptions {
  readonly node?: string;
  readonly json: boolean;
}

const notYet = (name: string) => async (_file: string, _opts: ReconcileOptions, _io: Output): Promise<number> => {
  throw new RtsyncError("E_USAGE", "user", `\`rtsync ${name}\` is not built yet`);
};

export const diff = notYet("diff");
export const apply = notYet("apply");
export const status = notYet("status");
export const down = notYet("down");
