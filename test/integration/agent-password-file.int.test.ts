import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";

// The agent reads a manifest again only when its bytes or those of its password files changed
// (a fingerprint of both; at rest it parses nothing). The password files are known only once the
// manifest is read, so the first read fingerprints them before a read of its own: a password file
// edited after that must still reach the daemon's secrets file, with no apply.

const OLD = "pw-OLD-ROTATED-41";
const NEW = "pw-NEW-ROTATED-42";

let f: ManifestFixture;
let agent: AgentProcess | undefined;
let secrets: string;
let file: string;

beforeAll(async () => {
  f = await createFixture();
  const pwFile = f.path("demo.password");
  await writeFile(pwFile, `${OLD}\n`, { mode: 0o600 });
  const port = await freePort();
  file = await f.writeManifest(loopbackManifest(f, { port, password: `{ file: ${pwFile} }` }));
  secrets = `${f.stateDir}/daemons/d1/rsyncd.secrets`;
  agent = await startAgentProcess([file, "--interval", "1h"]);
});
afterAll(async () => {
  if (agent) expect(await agent.stop()).toBe(0);
  if (!f) return;
  await f.adopt(file);
  await f.dispose();
});

test("a password file edited while the agent runs reaches the daemon's secrets file without an apply", async () => {
  if (agent === undefined) throw new Error("no agent");
  await waitForHealth(agent, 200);
  expect(await readFile(secrets, "utf8")).toContain(OLD);
  await writeFile(f.path("demo.password"), `${NEW}\n`);
  expect(await waitFor(async () => (await readFile(secrets, "utf8")).includes(NEW), 20_000)).toBe(true);
  expect(await readFile(secrets, "utf8")).not.toContain(OLD);
});
