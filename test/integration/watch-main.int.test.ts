import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readLogRecords } from "../../src/state/watch-log.ts";
import { readWatcherStatus, type WatcherStatusDoc } from "../../src/state/watcher-status.ts";
import { toolPaths } from "../helpers/tools.ts";
import { BIN, REPO } from "../helpers/cli.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempDir, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// The watcher process as the reconciler starts it (`rtsync __watch SPEC.json`, the built CLI): a spec file in, status.json and log.jsonl
// out, a clean exit on SIGTERM.


let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"], users: { rsync_backup: "top secret" } });
});
afterAll(() => daemon.dispose());

function readStatus(stateDir: string): Promise<WatcherStatusDoc | undefined> {
  return readWatcherStatus(stateDir);
}

test("runWatcher replicates, keeps status.json and log.jsonl, and exits 0 on SIGTERM", async () => {
  const source = await makeTempDir("rtsync-src-");
  const stateDir = await makeTempDir("rtsync-state-");
  await writeTree(source, { "existing.txt": "e" });
  const passwordFile = await daemon.writePasswordFile("top secret");
  const specPath = path.join(stateDir, "spec.json");
  await writeFile(
    specPath,
    JSON.stringify({
      name: "backup-push",
      source,
      targets: [
        {
          key: `rsync://127.0.0.1:${daemon.port}/m/main`,
          target: `${daemon.url("m", "rsync_backup")}/main`,
          daemonTarget: true,
          passwordFile,
          rsyncArgs: ["--timeout=30"],
          fullSyncSchedule: "0 3 * * *",
        },
      ],
      exclude: ["*.tmp"],
      delayMs: 0,
      watcher: "auto",
      initialSync: true,
      stateDir,
      ...(await toolPaths()),
    }),
  );
  const child = execa(process.execPath, [BIN, "__watch", specPath], { cwd: REPO, reject: false, stdin: "ignore" });
  try {
    await waitFor(async () => {
      const s = await readStatus(stateDir);
      return (s?.state === "watching" && s.initialSync.state === "done") || `status: ${JSON.stringify(s?.state)} ${JSON.stringify(s?.initialSync)}`;
    }, 20_000);
    await writeTree(source, { "new/file.txt": "n", "skip.tmp": "t" });
    await waitForSameTree(source, daemon.path("m", "main"), { exclude: ["*.tmp"] });
    await waitFor(async () => ((await readStatus(stateDir))?.counters.incrementalRuns ?? 0) > 0 || "no incremental run in status yet");
  } finally {
    child.kill("SIGTERM");
  }
  const result = await child;
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toBe(""); // the library never prints

  const status = await readStatus(stateDir);
  expect(status).toMatchObject({
    version: 1,
    name: "backup-push",
    pid: child.pid,
    state: "stopped",
    watcher: "inotify", // auto on Linux: rtsync's own source, no inotifywait child
    watcherReason: "auto: rtsync's inotify addon is built",
    // watches: counted again after runs (watch-status.int.test.ts)
    pending: 0,
    initialSync: { state: "done" },
    lastFullSync: { kind: "full", ok: true, exitCode: 0 },
    lastIncremental: { kind: "incremental", ok: true, exitCode: 0 },
    lastError: null,
    targets: [{ target: `rsync://127.0.0.1:${daemon.port}/m/main`, url: `${daemon.url("m", "rsync_backup")}/main`, healthy: true, pending: 0, initialSync: { state: "done" } }],
  });
  // the same hash the reconciler computes: sha256 of the compact JSON of the spec, 16 hex digits
  expect(status?.specHash).toBe(createHash("sha256").update(JSON.stringify(JSON.parse(await readFile(specPath, "utf8")))).digest("hex").slice(0, 16));
  expect(Date.parse(status?.nextFullSync ?? "")).toBeGreaterThan(Date.now());
  expect(status?.counters.bytesSent).toBeGreaterThan(0);

  const log = await readLogRecords(stateDir);
  const runs = log.filter((l) => l.type === "run");
  expect(runs[0]).toMatchObject({ type: "run", target: `rsync://127.0.0.1:${daemon.port}/m/main`, kind: "full", exitCode: 0, outcome: "ok" });
  expect(runs.some((r) => r.kind === "incremental" && typeof r.bytes === "number")).toBe(true);
  expect(log.at(-1)).toMatchObject({ type: "stopped", pending: 0 });
  const everything = JSON.stringify(status) + JSON.stringify(log);
  expect(everything).not.toContain("top secret");
});

test("a stateDir that cannot be written does not stop the watcher: it replicates and writes status.json once it can", async () => {
  const source = await makeTempDir("rtsync-src-");
  const stateDir = await makeTempDir("rtsync-state-");
  await writeTree(source, { "existing.txt": "e" });
  const passwordFile = await daemon.writePasswordFile("top secret");
  const specPath = path.join(stateDir, "spec.json");
  const target = `${daemon.url("m", "rsync_backup")}/immutable`;
  await writeFile(
    specPath,
    JSON.stringify({
      name: "immutable-push",
      source,
      targets: [{ key: `rsync://127.0.0.1:${daemon.port}/m/immutable`, target, daemonTarget: true, passwordFile, rsyncArgs: ["--timeout=30"], fullSyncSchedule: "0 3 * * *" }],
      exclude: [],
      delayMs: 0,
      watcher: "auto",
      initialSync: true,
      stateDir,
      ...(await toolPaths()),
    }),
  );
  await execa("chattr", ["+i", stateDir]); // no file can be made there: status.json's first write fails
  const child = execa(process.execPath, [BIN, "__watch", specPath], { cwd: REPO, reject: false, stdin: "ignore" });
  try {
    await writeTree(source, { "later.txt": "l" });
    await waitForSameTree(source, daemon.path("m", "immutable"));
    expect(child.exitCode).toBeNull(); // still running
    expect(await readStatus(stateDir)).toBeUndefined();
    await execa("chattr", ["-i", stateDir]);
    await waitFor(async () => (await readStatus(stateDir))?.pid === child.pid || "status.json not written yet", 20_000);
  } finally {
    await execa("chattr", ["-i", stateDir]);
    child.kill("SIGTERM");
  }
  expect((await child).exitCode).toBe(0);
});

test("an invalid spec file is one clear sentence and exit code 1", async () => {
  const dir = await makeTempDir();
  const specPath = path.join(dir, "spec.json");
  await writeFile(specPath, JSON.stringify({ name: "x", source: "relative", watcher: "fswatch" }));
  const result = await execa(process.execPath, [BIN, "__watch", specPath], { cwd: REPO, reject: false, stdin: "ignore" });
  expect(result.exitCode).toBe(1);
  expect(result.stderr.trim()).toBe(`rtsync: ${specPath} is not an rtsync watch spec (source: must be an absolute path); run \`rtsync apply\` to write it again`);
  expect(result.stderr).not.toMatch(/^\s+at /m);
});
