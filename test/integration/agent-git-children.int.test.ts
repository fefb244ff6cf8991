import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { rtsync } from "../helpers/cli.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { GIT_IDENT, makeGitRemote } from "../helpers/git-remote.ts";

// The agent's git is a trusted program in a built environment. The agent is started with a PATH
// whose first entry is a directory of another user (uid 65534) holding a fake `git`, a HOME
// whose .gitconfig redirects hooks, GIT_DIR and GIT_CONFIG_* set, and a manifest password in
// DEMO_PW. The checkout's own post-checkout hook (the working copy is root's) records the
// environment git runs with: no password variable, no caller GIT_*, PATH the system one.

const PW = "pw-CHILDREN-SECRET-63";
const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

describe("rtsync agent --git runs git as a trusted program", () => {
  let f: ManifestFixture;
  let agent: AgentProcess | undefined;
  let checkoutFile: string;
  let lastGood = "";

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    const port = await freePort();
    const bare = f.path("repo.git");
    const work = f.path("work");
    checkoutFile = f.path("checkout", "rtsync.yaml");
    await makeGitRemote(bare, work);
    await writeFile(`${work}/rtsync.yaml`, loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n" }));
    for (const args of [["add", "rtsync.yaml"], ["commit", "--quiet", "-m", "a daemon"], ["push", "--quiet", `file://${bare}`, "HEAD:main"]]) await execa("git", ["-C", work, ...args], { env: GIT_IDENT });
    // Another user's PATH entry, with a git that leaves a mark and then does the real work.
    await mkdir(f.path("fakebin"), { mode: 0o755 });
    await writeFile(f.path("fakebin", "git"), `#!/bin/sh\necho "$@" >> ${f.path("fake-git-ran")}\nexec /usr/bin/git "$@"\n`, { mode: 0o755 });
    await chown(f.path("fakebin", "git"), 65534, 65534);
    await chown(f.path("fakebin"), 65534, 65534);
    // A caller HOME whose .gitconfig sends hooks elsewhere.
    await mkdir(f.path("home", "hooks"), { recursive: true });
    await writeFile(f.path("home", ".gitconfig"), `[core]\n\thooksPath = ${f.path("home", "hooks")}\n`);
    await writeFile(f.path("home", "hooks", "post-checkout"), `#!/bin/sh\ntouch ${f.path("home-hook-ran")}\n`, { mode: 0o755 });
    // The working copy, made by root beforehand, with its own hook recording git's environment.
    await execa("git", ["init", "--quiet", f.path("checkout")]);
    await writeFile(f.path("checkout", ".git", "hooks", "post-checkout"), `#!/bin/sh\nenv > ${f.path("hook-env")}\n`);
    await chmod(f.path("checkout", ".git", "hooks", "post-checkout"), 0o755);
    agent = await startAgentProcess(["--git", `file://${bare}`, "--checkout", f.path("checkout"), "--interval", "1s"], {
      DEMO_PW: PW,
      PATH: `${f.path("fakebin")}:${process.env["PATH"] ?? SYSTEM_PATH}`,
      HOME: f.path("home"),
      GIT_DIR: f.path("elsewhere.git"),
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "core.hooksPath",
      GIT_CONFIG_VALUE_0: f.path("home", "hooks"),
    });
    await waitForHealth(agent, 200);
    lastGood = await readFile(checkoutFile, "utf8");
  });
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
    if (!f) return;
    if (lastGood) {
      await writeFile(checkoutFile, lastGood);
      await f.adopt(checkoutFile);
    }
    await f.dispose();
  });

  test("a git in another user's PATH entry is passed over", async () => {
    await expect(stat(f.path("fake-git-ran"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("git sees no password variable, no GIT_* of the caller, no caller HOME, and the system PATH", async () => {
    const env = await readFile(f.path("hook-env"), "utf8");
    expect(env).not.toContain(PW);
    expect(env).not.toContain("DEMO_PW");
    expect(env).not.toContain(f.path("elsewhere.git"));
    expect(env).not.toContain("GIT_CONFIG_COUNT");
    expect(env).not.toContain(f.path("home"));
    expect(env).not.toContain(f.path("fakebin"));
    expect(env).toMatch(new RegExp(`^PATH=(.*:)?${SYSTEM_PATH}$`, "m"));
    expect(env).toMatch(/^LC_ALL=C$/m);
    await expect(stat(f.path("home-hook-ran"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(f.path("elsewhere.git"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("git may use only the file, https and ssh transports (git:// is refused before it connects)", async () => {
    const r = await rtsync(["agent", "--git", `git://127.0.0.1:${await freePort()}/r.git`, "--checkout", f.path("git-protocol")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("transport 'git' not allowed");
  });
});
