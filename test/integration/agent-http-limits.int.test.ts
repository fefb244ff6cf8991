import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect, onTestFinished, test } from "vitest";
import { useAgentProcess, waitForHealth } from "../helpers/agent.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";

// The agent's HTTP server under 20,000 idle connections (two processes of 10,000: one process has
// at most 20,000 descriptors here). Without a cap the agent ran out of file descriptors (EMFILE)
// and reconcile failed; now it keeps a bounded number, closes the oldest idle one for a new
// connection (a probe still gets in), and closes idle ones after a timeout.

const IDLE = fileURLToPath(new URL("../helpers/idle-connections.mjs", import.meta.url));

function flood(port: number, count: number): { last(): { opened: number; closed: number } } {
  const child = spawn(process.execPath, [IDLE, String(port), String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  onTestFinished(() => {
    child.kill("SIGKILL");
  });
  let last = { opened: 0, closed: 0 };
  let buf = "";
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) if (l.trim() !== "") last = JSON.parse(l) as typeof last;
  });
  return { last: () => last };
}

test("20,000 idle connections: /healthz still answers, a manifest change still converges, no EMFILE", async () => {
  const PW = "pw-HTTPCAP-1";
  const f = await useFixture({ env: { DEMO_PW: PW } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  const agent = await useAgentProcess([file, "--interval", "2s"], { DEMO_PW: PW });
  await f.adopt(file);
  await waitForHealth(agent, 200);

  const floods = [flood(agent.port, 10_000), flood(agent.port, 10_000)];
  // Every connection was made (the kernel's side of it; the agent accepts them as it can) …
  expect(await waitFor(async () => floods.every((fl) => fl.last().opened === 10_000), 60_000)).toBe(true);
  // … and the agent keeps a bounded number of descriptors, not one per connection.
  const fds = async () => (await readdir(`/proc/${agent.pid}/fd`)).length;
  let most = 0;
  for (let i = 0; i < 20; i++) {
    most = Math.max(most, await fds());
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(most).toBeLessThan(400);

  // A probe gets in while the idle connections are held.
  expect((await agent.get("/healthz")).status).toBe(200);
  // And the agent still reconciles: a second daemon declared now is started.
  const port2 = await freePort();
  await writeFile(file, loopbackManifest(f, { port: await freePort(), rest: `  d2:\n    address: 127.0.0.1\n    port: ${port2}\n    hostsAllow: [127.0.0.1]\n    modules:\n      more: { path: ${f.path("more")}, readOnly: true }\n` }));
  await agent.waitForLine((l) => l.msg.startsWith("daemon d2: start") || (l.msg.includes("d2") && l.msg.endsWith("done")), 60_000);
  await f.adopt(file);
  await waitForHealth(agent, 200);
  const all = JSON.stringify(agent.lines) + agent.stderr();
  expect(all).not.toContain("EMFILE");
  expect(all).not.toContain("too many open files");
});
