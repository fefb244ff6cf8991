import { RtsyncError } from "../../errors.ts";
import type { Output } from "../output.ts";

// `rtsync __watch SPEC`: the detached watcher process that apply starts.
export async function watchCommand(_spec: string, _io: Output): Promise<number> {
  throw new RtsyncError("E_WATCH", "internal", "the watch engine is not built yet");
}
