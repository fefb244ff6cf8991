import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startWatcherProcess } from "../fixtures/watcher-process.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { makeTempDir, waitFor, waitForSameTree, writeTree } from "../helpers/temp-tree.ts";

// Issue 18, "watch limits and unwatchable directories degrade only themselves": the real watcher
// process (rtsync's inotify source) against a real watch limit and a real path past PATH_MAX. The
// watch limit is the watcher's own: it runs in a user namespace (unshare -U -r) whose
// user.max_inotify_watches is lowered, so the machine's fs.inotify.max_user_watches is never touched.

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

let sub = 0;
const dest = () => `s${process.pid}-${++sub}`;

// Runs the watcher in a new user namespace with `limit` inotify watches (the namespace's root may set it).
const inUserNamespace = (limit: number): string[] => ["unshare", "-U", "-r", "sh", "-c", `echo ${limit} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"`];

// Sets the namespace's limit again from inside it (the test's "raise the sysctl").
const setLimit = (pid: number, limit: number) => execa("nsenter", ["-U", "--preserve-credentials", "-t", String(pid), "sh", "-c", `echo ${limit} > /proc/sys/user/max_inotify_watches`]);

test("the watch limit reached while 200 directories appear: only those directories are unwatched, everything replicates, status says so", async () => {
  const source = await makeTempDir("rtsync-src-");
  await writeTree(source, Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`w${i}/f.txt`, `${i}\n`])));
  const name = dest();
  const limit = 30;
  const w = await startWatcherProcess(
    { source, target: `${daemon.url("m")}/${name}`, daemonTarget: true, watcher: "inotify" },
    { execVia: inUserNamespace(limit) },
  );
  const replica = daemon.path("m", name);
  await waitFor(async () => (await w.status())?.initialSync.state === "done" || "initial sync not done");
  expect((await w.status())?.watches).toBe(6);

  for (let i = 0; i < 200; i++) {
    const dir = path.join(source, "many", `d${String(i).padStart(3, "0")}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "first.txt"), `${i}\n`);
  }
  await waitFor(async () => {
    const s = await w.status();
    return (s?.unwatchedCount ?? 0) > 150 || `unwatched ${s?.unwatchedCount}`;
  });
  const s = await w.status();
  // Degraded, not down: still watching, the lanes healthy, the unwatched ones named with the limit.
  expect(s).toMatchObject({ state: "watching", healthy: false, maxUserWatches: limit });
  expect(s?.unwatched?.length).toBe(20);
  expect(s?.unwatched?.[0]).toMatchObject({ path: expect.stringMatching(/^many\/d\d{3}$/), reason: "watch-limit" });
  expect(s?.targets?.[0]?.healthy).toBe(true);
  const warning = (await w.log()).find((r) => r.type === "unwatched" && r.count > 0);
  expect(warning).toMatchObject({ type: "unwatched", message: expect.stringContaining(`the inotify watch limit (fs.inotify.max_user_watches = ${limit}) is reached`) });

  // A watched directory replicates as changes happen (the default wait: well under 20 s).
  await writeFile(path.join(source, "w0", "after.txt"), "watched\n");
  await waitFor(async () => (await readOr(path.join(replica, "w0", "after.txt"))) === "watched\n" || "w0/after.txt not on the target");
  // A change inside an unwatched directory no event reports: the subtree sync (every 10 s) sends it.
  const last = s?.unwatched?.at(-1)?.path ?? "many/d199";
  const first = s?.unwatched?.[0]?.path ?? "many/d198";
  await writeFile(path.join(source, last, "late.txt"), "unwatched\n");
  await rm(path.join(source, first, "first.txt")); // deleted inside one: the subtree sync deletes it too (--delete inside it)
  await waitFor(async () => (await readOr(path.join(replica, last, "late.txt"))) === "unwatched\n" || `${last}/late.txt not on the target`, 30_000);
  await waitForSameTree(source, replica, { timeoutMs: 30_000 });
  expect(await readOr(path.join(replica, first, "first.txt"))).toBeUndefined();

  // The limit raised: every directory is watched again within a retry, and the watch is healthy.
  await setLimit(w.pid, 10_000);
  await waitFor(async () => {
    const now = await w.status();
    return (now?.unwatchedCount === 0 && now.healthy && now.unwatched?.length === 0) || `unwatched ${now?.unwatchedCount}, healthy ${now?.healthy}`;
  }, 30_000);
  await writeFile(path.join(source, last, "watched-now.txt"), "again\n");
  await waitForSameTree(source, replica);
}, 120_000);

test("a directory past PATH_MAX is left unwatched, the rest of the tree watched: a file written at the root afterwards replicates", async () => {
  const source = await makeTempDir("rtsync-src-");
  await writeTree(source, { "a/f.txt": "a\n" });
  // 20 nested names of 250 bytes: 5,020 bytes below the source, made one relative step at a time.
  const long = "d".repeat(250);
  const chain = `for (let i = 0; i < 20; i++) { fs.mkdirSync(${JSON.stringify(long)}); process.chdir(${JSON.stringify(long)}); } fs.writeFileSync("f.txt", "deep\\n");`;
  await execa(process.execPath, ["-e", chain], { cwd: source });
  try {
    const name = dest();
    const w = await startWatcherProcess({ source, target: `${daemon.url("m")}/${name}`, daemonTarget: true, watcher: "inotify" });
    const replica = daemon.path("m", name);
    // rsync itself cannot send a name past its MAXPATHLEN (4096): it says "filename overflows
    // max-path len", sends everything else and exits 23 (and skips the deletions of that run).
    await waitFor(async () => (await w.status())?.lastFullSync?.exitCode === 23 || `no full sync yet: ${JSON.stringify((await w.status())?.lastFullSync)}`);
    await waitFor(async () => ((await w.status())?.unwatchedCount ?? 0) > 0 || "nothing unwatched");
    const s = await w.status();
    expect(s).toMatchObject({ state: "watching", healthy: false, unwatchedCount: 1, unwatched: [{ reason: "name-too-long" }] });

    await writeFile(path.join(source, "top.txt"), "top\n");
    await writeFile(path.join(source, "a", "g.txt"), "g\n");
    await waitFor(async () => (await readOr(path.join(replica, "top.txt"))) === "top\n" || "top.txt not on the target");
    expect(s?.unwatched?.[0]?.path.startsWith(`${long}/`)).toBe(true);
    await waitForSameTree(source, replica, { exclude: [`/${long}`] });
  } finally {
    await execa("rm", ["-rf", path.join(source, long)]); // node's rm stops at PATH_MAX, rm(1) does not
  }
}, 60_000);

async function readOr(file: string): Promise<string | undefined> {
  const { readFile } = await import("node:fs/promises");
  return readFile(file, "utf8").catch(() => undefined);
}
