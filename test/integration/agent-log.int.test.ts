import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { expect, onTestFinished, test } from "vitest";
import { useAgentProcess } from "../helpers/agent.ts";
import { rtsync } from "../helpers/cli.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";

// The agent's log. `rtsync agent --json`: its log is JSON lines, and an error that stops it from starting is one
// JSON line on stdout too (level error, msg, error.code), for a log shipper that reads stdout.

const parseLines = (stdout: string) => stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);

test("a bad flag under --json: exit 1, one JSON log line on stdout, nothing on stderr", async () => {
  const r = await rtsync(["agent", "--json", "--interval", "5"]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toBe("");
  const lines = parseLines(r.stdout);
  expect(lines).toEqual([
    { level: "error", time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), msg: "--interval 5 is not a duration of at least 1s (write it like 30s, 5m or 1h)", error: { code: "E_AGENT", message: "--interval 5 is not a duration of at least 1s (write it like 30s, 5m or 1h)" } },
  ]);
  // Without --json the same error is one sentence on stderr.
  const text = await rtsync(["agent", "--interval", "5"]);
  expect([text.exitCode, text.stdout, text.stderr]).toEqual([1, "", "rtsync: --interval 5 is not a duration of at least 1s (write it like 30s, 5m or 1h)"]);
});

test("a listen address in use under --json: the log so far and the error are all JSON lines", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-json-1" } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const r = await f.run(["agent", file, "--json", "--listen", `127.0.0.1:${port}`]);
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toBe("");
  const last = parseLines(r.stdout).at(-1);
  expect(last).toMatchObject({ level: "error", msg: `cannot listen on 127.0.0.1:${port}: the address is in use`, error: { code: "E_AGENT" } });
});

test("agent --json runs: every stdout line is a JSON log line", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-json-2" } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  await f.adopt(file);
  const agent = await useAgentProcess([file, "--json"], { DEMO_PW: "pw-json-2" });
  await agent.waitForLine((l) => l.msg.startsWith("rtsync agent started for node"));
  expect(agent.junk).toEqual([]);
});

test("one line per event: every reconcile has an outcome line, a refused revision logs once", async () => {
  const f = await useFixture({ env: { DEMO_PW: "pw-log-3" } });
  const file = await f.writeManifest(loopbackManifest(f, { port: await freePort() }));
  await f.adopt(file);
  const agent = await useAgentProcess([file, "--interval", "60s"], { DEMO_PW: "pw-log-3" });
  await agent.waitForLine((l) => l.msg.startsWith("reconcile converged: 4 changed, 0 out of sync (start)"));
  // A reconcile that changes nothing says so too.
  const from = agent.lines.length;
  process.kill(agent.pid, "SIGHUP");
  const idle = await agent.waitForLine((l) => l.msg.startsWith("reconcile "), 30_000, from);
  expect(idle).toMatchObject({ level: "info", msg: "reconcile converged: 0 changed, 0 out of sync (SIGHUP)", changed: 0 });

  const good = await readFile(file, "utf8");
  const before = agent.lines.length;
  await writeFile(file, good.replace("    port: ", "    port: [\n"));
  const refused = await agent.waitForLine((l) => l.level === "error", 30_000, before);
  expect(refused.msg).toMatch(new RegExp(`^refused manifest revision [0-9a-f]{12}: ${file} is invalid \\(\\d+ errors?\\) \\(${file}:\\d+:\\d+: .*\\); still running revision [0-9a-f]{12}$`));
  // Give a second line time to come: there must be none (the issues are in the one line).
  await new Promise((r) => setTimeout(r, 1500));
  expect(agent.lines.slice(before).filter((l) => l.level === "error")).toHaveLength(1);
  await writeFile(file, good);
});
