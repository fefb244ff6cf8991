import { findExecutable } from "../../src/core/executables.ts";

/** The absolute paths of rsync, inotifywait and setpriv on this machine, as apply records them in a watch spec. */
export async function toolPaths(): Promise<{ rsync: string; inotifywait?: string; setpriv?: string }> {
  const pathVar = process.env["PATH"] ?? "/usr/bin:/bin";
  const rsync = await findExecutable("rsync", pathVar);
  if (rsync === undefined) throw new Error("rsync is not installed");
  const inotifywait = await findExecutable("inotifywait", pathVar);
  const setpriv = await findExecutable("setpriv", pathVar);
  return { rsync, ...(inotifywait === undefined ? {} : { inotifywait }), ...(setpriv === undefined ? {} : { setpriv }) };
}
