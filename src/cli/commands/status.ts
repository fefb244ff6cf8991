import { RtsyncError } from "../../errors.ts";
import type { Output } from "../output.ts";
import type { ReconcileOptions } from "./reconcile.ts";

export async function statusCommand(_file: string, _opts: ReconcileOptions, _io: Output): Promise<number> {
  throw new RtsyncError("E_USAGE", "user", "`rtsync status` is not built yet");
}
