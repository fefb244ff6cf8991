import { mkdir, symlink } from "node:fs/promises";
import { expect, test } from "vitest";
import { sampleKey, useAgentProcess, waitForHealth, type AgentLine } from "../helpers/agent.ts";
import { useFixture } from "../helpers/manifest-fixture.ts";
import { toolPaths } from "../helpers/tools.ts";

// A watcher that can never run (`watcher: inotifywait` on a machine without inotifywait: it exits
// at start, every time) is restarted with backoff, not in a hot loop: the agent's own log shows the
// waits it announces doubling, and the gaps between its attempts growing. /healthz and the
// metrics call it crash-looping.

test("a watcher that keeps dying is started again with a growing backoff and reported as crash-looping", async () => {
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

  // Each attempt is one apply result of the watcher's start (failed, or started and dead at once).
  const attempts = (): AgentLine[] => agent.lines.filter((l) => l.resource === "watcher:push" && typeof l["status"] === "string" && l.msg.startsWith("watcher push: start watching") && !l.msg.includes("still differs"));
  await agent.waitForLine(() => attempts().length >= 5, 90_000);
  const times = attempts().map((l) => Date.parse(l.time));
  const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
  for (let i = 1; i < gaps.length; i++) expect(gaps[i], `gaps between attempts (ms): ${gaps.join(", ")}`).toBeGreaterThan(gaps[i - 1] ?? 0);
  expect(gaps[0]).toBeGreaterThanOrEqual(1000);

  const announced = agent.lines
    .filter((l) => l.resource === "watcher:push" && l.level === "warn")
    .map((l) => /(?:next attempt in|starting it again in) (\d+(?:\.\d+)?)s/.exec(l.msg)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number);
  expect(announced.slice(0, 4)).toEqual([1, 2, 4, 8]);

  // Held back means held back: a reconcile for another reason (SIGHUP) leaves it out. Sent right
  // after the agent announced the wait that follows the latest attempt (8 s or more by now).
  const announcement = (l: AgentLine) => l.resource === "watcher:push" && l.level === "warn" && /(?:next attempt in|starting it again in) \d/.test(l.msg);
  await agent.waitForLine(() => {
    const lastAttempt = agent.lines.lastIndexOf(attempts().at(-1) as AgentLine);
    return agent.lines.findIndex((l, i) => i > lastAttempt && announcement(l)) >= 0;
  }, 60_000);
  const before = attempts().length;
  const from = agent.lines.length;
  process.kill(agent.pid, "SIGHUP");
  const sighup = await agent.waitForLine((l) => Array.isArray(l["reasons"]) && (l["reasons"] as string[]).includes("SIGHUP") && l.msg.startsWith("reconcile "), 30_000, from);
  expect(sighup.msg).toBe("reconcile failed: 0 changed, 1 out of sync (held back: watcher:push) (SIGHUP)");
  expect(sighup["outOfSync"]).toEqual(["watcher:push"]);
  expect(attempts().length).toBe(before);

  const body = await waitForHealth(agent, 503);
  expect(JSON.stringify(body["problems"])).toMatch(/crash-looping: died \d+ times in a row soon after starting/);
  expect(body).toMatchObject({ health: "Degraded" });
  const m = await agent.metrics();
  expect(m.get(sampleKey("rtsync_watch_crash_looping", { watch: "push" }))).toBe(1);
  expect(m.get(sampleKey("rtsync_watch_up", { watch: "push" }))).toBe(0);
  expect(await agent.stop()).toBe(0);
});
