import { mkdir, readFile, symlink } from "node:fs/promises";
import { expect, test } from "vitest";
import { sampleKey, useAgentProcess, waitForHealth, type AgentLine } from "../helpers/agent.ts";
import { useFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/temp-tree.ts";
import { toolPaths } from "../helpers/tools.ts";

// A watch job that can never run (`watcher: inotifywait` on a machine without inotifywait: it
// fails at start, every time) is started again by the watch host with backoff, not in a hot loop:
// the host's log shows the waits it announces doubling, and the gaps between its attempts growing;
// the agent does not start it again itself. /healthz and the metrics call it crash-looping.

test("a watch job that keeps failing is started again with a growing backoff and reported as crash-looping", async () => {
  const f = await useFixture();
  await mkdir(f.path("source"));
  await mkdir(f.path("bin"));
  // PATH with rsync and nothing else: the watcher is told to use an inotifywait there is not.
  await symlink((await toolPaths()).rsync, f.path("bin", "rsync"));
  const file = await f.writeManifest(`version: 1
stateDir: ${f.stateDir}
watches:
  push:
    source: ${f.path("source")}
    target: ${f.path("copy")}
    watcher: inotifywait
`);
  const agent = await useAgentProcess([file], { PATH: f.path("bin") });
  await f.adopt(file);

  // Each attempt is one line of the host's log: "job push failed: …; restarting it in N ms".
  const hostLog = `${f.stateDir}/host/host.log`;
  const failures = async () =>
    (await readFile(hostLog, "utf8").catch(() => ""))
      .split("\n")
      .map((l) => /^(\S+) job push failed: .*; restarting it in (\d+) ms$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ at: Date.parse(m[1] ?? ""), delay: Number(m[2]) }));
  await waitFor(async () => (await failures()).length >= 5 || `${(await failures()).length} failures so far`, 90_000);
  const seen = await failures();
  expect(seen.slice(0, 4).map((x) => x.delay)).toEqual([1000, 2000, 4000, 8000]);
  const gaps = seen.slice(1).map((x, i) => x.at - (seen[i]?.at ?? x.at));
  for (let i = 1; i < gaps.length; i++) expect(gaps[i], `gaps between attempts (ms): ${gaps.join(", ")}`).toBeGreaterThan(gaps[i - 1] ?? 0);
  expect(gaps[0]).toBeGreaterThanOrEqual(1000);
  // The host does the restarting: the agent started the job once (apply reported it failed) and left it to the host.
  const starts = agent.lines.filter((l: AgentLine) => l.resource === "watcher:push" && typeof l["status"] === "string" && l.msg.startsWith("watcher push: start watching"));
  expect(starts.length).toBeLessThanOrEqual(2);

  const body = await waitForHealth(agent, 503);
  expect(JSON.stringify(body["problems"])).toMatch(/crash-looping: failed \d+ times in a row soon after starting/);
  expect(body).toMatchObject({ health: "Degraded" });
  const m = await agent.metrics();
  expect(m.get(sampleKey("rtsync_watch_crash_looping", { watch: "push" }))).toBe(1);
  expect(m.get(sampleKey("rtsync_watch_up", { watch: "push", target: f.path("copy") }))).toBe(0);
  expect(await agent.stop()).toBe(0);
});
