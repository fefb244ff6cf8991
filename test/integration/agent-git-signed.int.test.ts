import { readFile, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sampleKey, startAgentProcess, waitForHealth, type AgentProcess } from "../helpers/agent.ts";
import { rtsync } from "../helpers/cli.ts";
import { createFixture, freePort, loopbackManifest, type ManifestFixture } from "../helpers/manifest-fixture.ts";
import { waitFor } from "../helpers/probes.ts";
import { GIT_IDENT, makeGitRemote } from "../helpers/git-remote.ts";

// Signed GitOps: `rtsync agent --git … --allowed-signers FILE` applies a commit only when git's
// SSH signature verification (git verify-commit) accepts it against FILE. Real keys made by
// ssh-keygen here, a real local bare repository as the remote. An unsigned commit, or one signed
// by a key not in the file, is refused like an invalid manifest: the signed revision keeps
// running, /healthz answers 503 naming the reason; a correctly signed fix converges.

const PW = "pw-SIGNED-SECRET-61";

describe("rtsync agent --git --allowed-signers", () => {
  let f: ManifestFixture;
  let port: number;
  let agent: AgentProcess | undefined;
  let bare: string;
  let work: string;
  let checkoutFile: string;
  let signers: string;
  let lastGood = "";
  const git = async (...args: string[]) => String((await execa("git", ["-C", work, ...args], { env: GIT_IDENT })).stdout).trim();
  // Commits `text` as rtsync.yaml, signed with `key` (a private key file) or unsigned, and pushes it.
  const commit = async (text: string, message: string, key?: string) => {
    await writeFile(`${work}/rtsync.yaml`, text);
    await git("add", "rtsync.yaml");
    await git(...(key ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`, "commit", "-S"] : ["commit"]), "--quiet", "-m", message);
    await git("push", "--quiet", "origin", "HEAD:main");
    return git("rev-parse", "HEAD");
  };
  const manifest = (more = "") => loopbackManifest(f, { port, daemonExtra: "    uid: root\n    gid: root\n    useChroot: true\n", ...(more ? { modulesExtra: more } : {}) });
  const health = async () => JSON.parse((await (agent as AgentProcess).get("/healthz")).text) as { revision: { revision: string } | null; problems: { message: string }[] };
  const args = () => ["--git", `file://${bare}`, "--ref", "main", "--path", "rtsync.yaml", "--checkout", f.path("checkout"), "--interval", "1s", "--allowed-signers", signers];

  beforeAll(async () => {
    f = await createFixture({ env: { DEMO_PW: PW } });
    port = await freePort();
    bare = f.path("repo.git");
    work = f.path("work");
    checkoutFile = f.path("checkout", "rtsync.yaml");
    signers = f.path("allowed_signers");
    for (const k of ["ops", "stranger"]) await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", k, "-f", f.path(k)]);
    await writeFile(signers, `# who may change this node\nops@example.com ${(await readFile(f.path("ops.pub"), "utf8")).trim()}\n`);
    await makeGitRemote(bare, work);
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

  test("a signers file that cannot be read: exit 1, one sentence", async () => {
    const r = await rtsync(["agent", "--git", `file://${bare}`, "--checkout", f.path("nope"), "--allowed-signers", f.path("no-such-signers")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^rtsync: cannot read the allowed signers file .*no-such-signers: no such file or directory/m);
  });

  test("--allowed-signers without --git: exit 1, one sentence", async () => {
    const r = await rtsync(["agent", f.path("rtsync.yaml"), "--allowed-signers", signers]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^rtsync: --ref, --path, --checkout and --allowed-signers go with --git URL/m);
  });

  test("a commit signed by an allowed signer is converged", async () => {
    const first = await commit(manifest(), "a daemon", f.path("ops"));
    agent = await startAgentProcess(args(), { DEMO_PW: PW });
    const body = await waitForHealth(agent, 200);
    expect((body["revision"] as { revision: string }).revision).toBe(first);
    lastGood = await readFile(checkoutFile, "utf8");
    expect((await agent.metrics()).get(sampleKey("rtsync_revision_unsigned"))).toBe(0);
  });

  test("an unsigned commit pushed after it is refused: the signed revision keeps running, /healthz 503 says why", async () => {
    const good = (await health()).revision?.revision;
    const unsigned = await commit(manifest(`      evil: { path: ${f.path("evil")}, readOnly: false, authUsers: [demo] }\n`), "unsigned");
    const body = await waitForHealth(agent as AgentProcess, 503, 30_000);
    expect(JSON.stringify(body["problems"])).toContain(`commit ${unsigned.slice(0, 12)} is not signed by an allowed signer of ${signers}: it has no signature`);
    expect((body["revision"] as { revision: string }).revision).toBe(good);
    await agent?.waitForLine((l) => l.level === "error" && l.msg.startsWith(`refused commit ${unsigned.slice(0, 12)}: `) && l.msg.includes("it has no signature"));
    const m = await (agent as AgentProcess).metrics();
    expect(m.get(sampleKey("rtsync_revision_unsigned"))).toBe(1);
    expect(m.get(sampleKey("rtsync_reconciles_total", { result: "refused" }))).toBeGreaterThanOrEqual(1);
    // Never checked out, never applied.
    expect(await readFile(checkoutFile, "utf8")).toBe(lastGood);
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.conf`, "utf8")).not.toContain("[evil]");
  });

  test("a commit signed by a key that is not in the file is refused", async () => {
    const foreign = await commit(manifest(`      sneaky: { path: ${f.path("sneaky")}, readOnly: false, authUsers: [demo] }\n`), "signed by a stranger", f.path("stranger"));
    expect(
      await waitFor(async () => JSON.stringify((await health()).problems).includes(`commit ${foreign.slice(0, 12)} is not signed by an allowed signer of ${signers}: its key is not in the allowed signers file`), 30_000),
    ).toBe(true);
    expect((await agent?.get("/healthz"))?.status).toBe(503);
    expect(await readFile(checkoutFile, "utf8")).toBe(lastGood);
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.conf`, "utf8")).not.toContain("[sneaky]");
  });

  test("a correctly signed fix converges", async () => {
    const fix = await commit(manifest(`      more: { path: ${f.path("more")}, readOnly: false, authUsers: [demo] }\n`), "signed fix", f.path("ops"));
    expect(await waitFor(async () => (await health()).revision?.revision === fix && (await agent?.get("/healthz"))?.status === 200, 30_000)).toBe(true);
    lastGood = await readFile(checkoutFile, "utf8");
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.conf`, "utf8")).toContain("[more]");
    expect((await (agent as AgentProcess).metrics()).get(sampleKey("rtsync_revision_unsigned"))).toBe(0);
  });

  test("an agent started while the head is unsigned runs the checkout's verified commit and says why it is not the head", async () => {
    const running = (await health()).revision?.revision;
    expect(await agent?.stop()).toBe(0);
    agent = undefined;
    const unsigned = await commit(manifest(`      late: { path: ${f.path("late")}, readOnly: false, authUsers: [demo] }\n`), "unsigned, while no agent runs");
    agent = await startAgentProcess(args(), { DEMO_PW: PW });
    // The refusal comes first; the checkout's revision once it has been read.
    expect(await waitFor(async () => (await health()).revision?.revision === running, 30_000)).toBe(true);
    const body = await waitForHealth(agent, 503, 30_000);
    expect(JSON.stringify(body["problems"])).toContain(`commit ${unsigned.slice(0, 12)} is not signed by an allowed signer of ${signers}: it has no signature`);
    expect((body["revision"] as { revision: string }).revision).toBe(running);
    expect(await readFile(checkoutFile, "utf8")).toBe(lastGood);
    expect(await readFile(`${f.stateDir}/daemons/d1/rsyncd.conf`, "utf8")).not.toContain("[late]");
    const s = await rtsync(["status", checkoutFile], { env: { ...process.env, DEMO_PW: PW } });
    expect(s.stdout).toContain(`commit ${unsigned.slice(0, 12)} is not signed by an allowed signer`);
    expect(s.stdout).not.toContain(":0:0:");
    const fix = await commit(manifest(`      late: { path: ${f.path("late")}, readOnly: false, authUsers: [demo] }\n`).replace("useChroot: true", "useChroot: true\n    timeout: 600"), "signed", f.path("ops"));
    expect(await waitFor(async () => (await health()).revision?.revision === fix && (await agent?.get("/healthz"))?.status === 200, 30_000)).toBe(true);
    lastGood = await readFile(checkoutFile, "utf8");
  });
});
