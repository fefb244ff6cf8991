import { readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { BIN, REPO, rtsync } from "../helpers/cli.ts";
import { freePort, makeTempDir } from "../helpers/manifest-fixture.ts";

// scripts/quickstart.sh against a given rtsync command (RTSYNC, as CI runs it against the
// installed one): it takes RTSYNC_QUICKSTART_DIR and RTSYNC_QUICKSTART_PORT, and picks a free
// port by itself when the default one (18730) is taken. Each run is taken down afterwards.

async function runQuickstart(env: Record<string, string>): Promise<{ exitCode: number; all: string; dir: string }> {
  const dir = `${await makeTempDir("rtsync-qs-")}/qs`;
  onTestFinished(async () => {
    await rtsync(["down", `${dir}/rtsync.yaml`]);
    await rm(dir.replace(/\/qs$/, ""), { recursive: true, force: true });
  });
  const r = await execa("bash", [`${REPO}scripts/quickstart.sh`], { reject: false, all: true, stdin: "ignore", env: { ...process.env, RTSYNC: BIN, RTSYNC_QUICKSTART_DIR: dir, ...env } });
  return { exitCode: r.exitCode ?? -1, all: String(r.all ?? ""), dir };
}

// Holds 127.0.0.1:port until the test ends; false when someone else already does.
async function hold(port: number): Promise<boolean> {
  const server: Server = createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(true));
  });
  if (ok) onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return ok;
}

test("the default port taken: the quick start picks a free one and replicates", async () => {
  const held = await hold(18730);
  const r = await runQuickstart({});
  expect(r.exitCode, r.all).toBe(0);
  const port = Number(/^ {4}port: (\d+)$/m.exec(await readFile(`${r.dir}/rtsync.yaml`, "utf8"))?.[1]);
  expect(port).not.toBe(18730);
  if (held) expect(r.all).toContain(`quickstart: port 18730 is taken; using ${port} (set RTSYNC_QUICKSTART_PORT to choose)`);
  expect(r.all).toMatch(/quickstart: the replica has: hello from rtsync/);
  expect(r.all).not.toContain("warning");
  expect(await readFile(`${r.dir}/replica/hello.txt`, "utf8")).toBe(await readFile(`${r.dir}/source/hello.txt`, "utf8"));
});

test("RTSYNC_QUICKSTART_PORT and RTSYNC_QUICKSTART_DIR are used as given", async () => {
  const port = await freePort();
  const r = await runQuickstart({ RTSYNC_QUICKSTART_PORT: String(port) });
  expect(r.exitCode, r.all).toBe(0);
  expect(r.all).toContain(`daemon loopback: start rsync --daemon on 127.0.0.1:${port}: done`);
  expect(r.all).toContain(`watcher push: start watching ${r.dir}/source -> rsync://demo@127.0.0.1:${port}/replica: done`);
  expect(r.all).toContain(`quickstart: stop everything with: ${BIN} down ${r.dir}/rtsync.yaml`);
});
