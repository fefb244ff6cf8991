import { messageOf } from "../core/errors.ts";

// `rtsync __host STATEDIR`: the watch host that apply starts (watch/host/main.ts); runs until
// SIGTERM or until it has no job left. bin.ts calls this before the command-line parser is
// loaded. Its stderr is stateDir/host/host.log.
export async function hostMain(args: readonly string[]): Promise<number> {
  const [stateDir, ...extra] = args;
  if (stateDir === undefined || extra.length > 0 || !stateDir.startsWith("/")) {
    process.stderr.write("rtsync: usage: rtsync __host STATEDIR (started by `rtsync apply`)\n");
    return 1;
  }
  try {
    const { runWatchHost } = await import("../watch/host/main.ts");
    await runWatchHost(stateDir);
    return 0;
  } catch (error) {
    process.stderr.write(`rtsync: ${messageOf(error)}\n`);
    return 1;
  }
}
