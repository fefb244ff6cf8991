// What watching IN_MODIFY costs the watcher (issue 18, "files that stay open are sent anyway"):
// a 1 GiB file written by dd into a watched tree (4 KiB writes: up to 262,144 IN_MODIFY; 1 MiB
// writes: 1,024), the watcher's CPU time during the write, for each event source. The watcher
// runs in this process (its rsync runs are children and not counted); inotifywait's CPU is read
// from /proc before it is stopped. Run: npx tsx bench/modify-flood.ts [inotify|inotifywait] [4k|1M] [settleMs]
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { startWatchEngine } from "../src/watch/engine/engine.ts";
import type { EngineEvent } from "../src/watch/engine/events.ts";
import type { WatchSpec } from "../src/state/watch-spec.ts";

const watcher = (process.argv[2] ?? "inotify") as "inotify" | "inotifywait";
const bs = process.argv[3] ?? "4k";
const count = bs === "1M" ? 1024 : 262_144;
const settleMs = Number(process.argv[4] ?? 2000); // 600000: no send while dd writes, only the events' cost

const TICKS = 100; // USER_HZ
async function childCpuMs(): Promise<number> {
  let ms = 0;
  for (const task of await readdir("/proc/self/task")) {
    const kids = (await readFile(`/proc/self/task/${task}/children`, "utf8").catch(() => "")).trim().split(/\s+/).filter(Boolean);
    for (const pid of kids) {
      const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
      if (comm !== "inotifywait") continue;
      const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
      ms += ((Number(stat[11]) + Number(stat[12])) * 1000) / TICKS;
    }
  }
  return ms;
}
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const root = await mkdtemp(path.join(tmpdir(), "rtsync-modify-flood-"));
const source = path.join(root, "src");
const replica = path.join(root, "dst");
await execa("mkdir", ["-p", source, replica]);
const events: EngineEvent[] = [];
const spec: WatchSpec = {
  name: "flood",
  source,
  targets: [{ key: replica, target: replica, daemonTarget: false, rsyncArgs: [] }],
  exclude: [],
  delayMs: 0,
  watcher,
  initialSync: false,
  settleMs,
  stateDir: path.join(root, "state"),
  rsync: (await execa("sh", ["-c", "command -v rsync"])).stdout,
  inotifywait: (await execa("sh", ["-c", "command -v inotifywait"])).stdout,
};
const engine = await startWatchEngine(spec, { onEvent: (e) => events.push(e) });
await engine.ready;
await new Promise((r) => setTimeout(r, 500));
const before = { self: cpuMs(), child: await childCpuMs() };
const wall = performance.now();
await execa("dd", ["if=/dev/zero", `of=${path.join(source, "big")}`, `bs=${bs}`, `count=${count}`, "conv=notrunc"], { stderr: "ignore" });
const ddMs = performance.now() - wall;
await new Promise((r) => setTimeout(r, 300)); // the last reads of the queue
const after = { self: cpuMs(), child: await childCpuMs() };
await engine.stop();
const runs = events.filter((e) => e.type === "run-start").length;
console.log(
  JSON.stringify({
    watcher,
    bs,
    settleMs,
    ddMs: Math.round(ddMs),
    watcherCpuMs: Math.round(after.self - before.self),
    inotifywaitCpuMs: Math.round(after.child - before.child),
    runs,
  }),
);
await rm(root, { recursive: true, force: true });
