import { messageOf } from "../core/errors.ts";

// `rtsync __watch SPEC.json`: the detached watcher process that apply starts; runs until SIGTERM.
// bin.ts calls this before the command-line parser is loaded. Its stderr is the watcher's
// watcher.log, so a failure to start is one line there.
export async function watchMain(args: readonly string[]): Promise<number> {
  const [spec, ...extra] = args;
  if (spec === undefined || extra.length > 0) {
    process.stderr.write("rtsync: usage: rtsync __watch SPEC.json (started by `rtsync apply`)\n");
    return 1;
  }
  try {
    const { runWatcher } = await import("../watch/process/main.ts");
    await runWatcher(spec);
    return 0;
  } catch (error) {
    process.stderr.write(`rtsync: ${messageOf(error)}\n`);
    return 1;
  }
}
