import type { Output } from "../output.ts";

// `rtsync __watch SPEC`: the detached watcher process that apply starts. Runs until SIGTERM.
export async function watchCommand(specFile: string, _io: Output): Promise<number> {
  const { runWatcher } = await import("../../watch/main.ts");
  await runWatcher(specFile);
  return 0;
}
