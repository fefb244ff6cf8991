import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bytesOf } from "../../src/watch/byte-path.ts";
import { buildFilterList } from "../../src/watch/rsync/filter-list.ts";
import { buildFullArgs, buildIncrementalArgs } from "../../src/watch/rsync/args.ts";
import type { Progress } from "../../src/state/watcher-status.ts";
import { runRsync } from "../../src/watch/rsync/run.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { diffTrees, makeTempTree, writeTree } from "../helpers/temp-tree.ts";

// The incremental list and the argument lists against a real rsync daemon on 127.0.0.1: what is
// listed arrives or is deleted, what is not listed is left alone, any file name survives.

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["inc", "names", "full", "auth"] });
});
afterAll(() => daemon.dispose());

function specFor(source: string, module: string, exclude: string[] = []) {
  return { source, target: daemon.url(module), daemonTarget: true, exclude, rsyncArgs: [] };
}

async function push(source: string, module: string, entries: [string, boolean][], exclude: string[] = []) {
  return runRsync({ binary: "rsync", args: buildIncrementalArgs(specFor(source, module, exclude)), input: buildFilterList(new Map(entries)) });
}

describe("incremental runs", () => {
  test("send only the listed paths, delete listed paths that are gone, leave the rest alone", async () => {
    const src = await makeTempTree({ "a/b/f": "f1", "a/b/g": "g1", "a/other": "o", "top": "t", "gone/x": "x", "gone2": "2" });
    await rm(daemon.path("inc"), { recursive: true, force: true });
    await mkdir(daemon.path("inc"));
    expect((await runRsync({ binary: "rsync", args: buildFullArgs(specFor(src, "inc")) })).outcome).toBe("ok");
    await writeTree(src, { "a/b/f": "f2", "a/other": "o2", "new/deep/n": "n" });
    await rm(path.join(src, "gone"), { recursive: true });
    await rm(path.join(src, "gone2"));
    await writeFile(daemon.path("inc", "replica-only"), "keep me");

    const result = await push(src, "inc", [
      ["a/b/f", false],
      ["new", true],
      ["gone", true],
      ["gone2", false],
    ]);
    expect(result).toMatchObject({ outcome: "ok", exitCode: 0 });
    expect(result.bytesSent).toBeGreaterThan(0);
    expect(await readFile(daemon.path("inc", "a/b/f"), "utf8")).toBe("f2");
    expect(await readFile(daemon.path("inc", "new/deep/n"), "utf8")).toBe("n");
    expect(await readFile(daemon.path("inc", "a/other"), "utf8")).toBe("o"); // not listed: untouched
    expect(await readFile(daemon.path("inc", "replica-only"), "utf8")).toBe("keep me"); // protected
    await expect(stat(daemon.path("inc", "gone"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(daemon.path("inc", "gone2"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("user excludes win over the list: a listed excluded file is not sent", async () => {
    const src = await makeTempTree({ "keep.txt": "k", "drop.swp": "d", "c/.cache/x": "x" });
    const result = await push(
      src,
      "inc",
      [
        ["keep.txt", false],
        ["drop.swp", false],
        ["c", true],
      ],
      ["*.swp", ".cache/"],
    );
    expect(result.outcome).toBe("ok");
    expect(await readFile(daemon.path("inc", "keep.txt"), "utf8")).toBe("k");
    await expect(stat(daemon.path("inc", "drop.swp"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(stat(daemon.path("inc", "c/.cache"))).rejects.toMatchObject({ code: "ENOENT" });
    expect((await stat(daemon.path("inc", "c"))).isDirectory()).toBe(true);
  });

  test("any file name survives: spaces, newlines, dashes, glob characters, backslashes, unicode, non-UTF-8 bytes", async () => {
    const src = await makeTempTree({});
    const names = [
      "with space",
      "trailing space ",
      " leading space",
      "new\nline",
      "-leading-dash",
      "--delete",
      "glob*?[x]",
      "[abc]",
      "back\\slash",
      "both\\*",
      "tab\tname",
      "#hash",
      ";semi",
      "+ plus",
      "- minus",
      "日本語 ñ",
      "dir[1]/in*side",
      "weird\\dir/**",
    ];
    const raw = [Buffer.from([0x66, 0xff, 0xfe, 0x0a]), Buffer.from("nonutf8-dir-"), Buffer.from([0xc3, 0x28])];
    const entries: [string, boolean][] = [];
    for (const name of names) {
      await writeTree(src, { [name]: `content of ${name}` });
      entries.push([Buffer.from(name).toString("latin1"), false]);
    }
    const latin = (b: Buffer) => b.toString("latin1");
    const odd = Buffer.concat([raw[0]!]);
    await writeFile(Buffer.concat([Buffer.from(`${src}/`), odd]), "odd");
    entries.push([latin(odd), false]);
    const oddDir = Buffer.concat([Buffer.from(`${src}/`), raw[1]!, raw[2]!]);
    await mkdir(oddDir);
    await writeFile(Buffer.concat([oddDir, Buffer.from("/f")]), "in odd dir");
    entries.push([latin(Buffer.concat([raw[1]!, raw[2]!])), true]);

    await rm(daemon.path("names"), { recursive: true, force: true });
    await mkdir(daemon.path("names"));
    const result = await push(src, "names", entries);
    expect(result.messages).toEqual([]);
    expect(result.outcome).toBe("ok");
    expect(await diffTrees(src, daemon.path("names"))).toBe("");

    // and deleting them all through the list removes them all
    for (const [p, tree] of entries) await rm(Buffer.concat([Buffer.from(`${src}/`), bytesOf(p)]), { recursive: tree, force: true });
    for (const d of ["dir[1]", "weird\\dir"]) await rm(path.join(src, d), { recursive: true });
    const del = await push(src, "names", [...entries, ["dir[1]", true], ["weird\\dir", true]]);
    expect(del.outcome).toBe("ok");
    expect(await diffTrees(src, daemon.path("names"))).toBe("");
  });
});

describe("full syncs and failures", () => {
  test("a full sync deletes what exists only on the replica, but not excluded files", async () => {
    const src = await makeTempTree({ "a": "1", "d/b": "2", "x.tmp": "t" });
    await writeTree(daemon.path("full"), { "stray": "s", "d/stray2": "s", "keep.tmp": "k" });
    const progress: Progress[] = [];
    const result = await runRsync({ binary: "rsync", args: buildFullArgs(specFor(src, "full", ["*.tmp"]), { progress: true }), onProgress: (p) => progress.push(p) });
    expect(result.outcome).toBe("ok");
    expect(result.bytesSent).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ bytes: expect.any(Number), percent: expect.any(Number) });
    expect(await diffTrees(src, daemon.path("full"), ["*.tmp"])).toBe("");
    expect(await readFile(daemon.path("full", "keep.tmp"), "utf8")).toBe("k");
  });

  test("an unreachable daemon and an unknown module are transient; a bad option is fatal", async () => {
    const src = await makeTempTree({ a: "1" });
    const closed = await runRsync({ binary: "rsync", args: buildFullArgs({ ...specFor(src, "full"), target: "rsync://127.0.0.1:1/full" }) });
    expect(closed).toMatchObject({ outcome: "transient", exitCode: 10 });
    const unknown = await runRsync({ binary: "rsync", args: buildFullArgs(specFor(src, "no-such-module")) });
    expect(unknown).toMatchObject({ outcome: "transient", exitCode: 5 });
    expect(unknown.messages.join("\n")).toMatch(/Unknown module 'no-such-module'/);
    const bad = await runRsync({ binary: "rsync", args: buildFullArgs({ ...specFor(src, "full"), rsyncArgs: ["--no-such-option"] }) });
    expect(bad).toMatchObject({ outcome: "fatal", exitCode: 1 });
  });
});

test("a missing rsync binary is a fatal outcome with one clear sentence", async () => {
  const result = await runRsync({ args: ["--version"], binary: "/nonexistent/rsync" });
  expect(result).toMatchObject({ outcome: "fatal", exitCode: -1 });
  expect(result.messages[0]).toBe("/nonexistent/rsync is not installed any more; install rsync (apt-get install rsync) and run `rtsync apply`");
});

describe("authentication", () => {
  let authDaemon: RsyncDaemon;
  beforeAll(async () => {
    authDaemon = await startRsyncDaemon({ modules: ["secure"], users: { backup: "s3cret pass" } });
  });
  afterAll(() => authDaemon.dispose());

  test("the password reaches rsync through --password-file only; a wrong one is an authentication failure", async () => {
    const src = await makeTempTree({ "a/f": "secret data" });
    const good = await authDaemon.writePasswordFile("s3cret pass");
    const spec = { source: src, target: authDaemon.url("secure", "backup"), daemonTarget: true, passwordFile: good, exclude: [], rsyncArgs: [] };
    const args = buildFullArgs(spec);
    expect(args.join(" ")).not.toContain("s3cret");
    expect(await runRsync({ binary: "rsync", args })).toMatchObject({ outcome: "ok" });
    expect(await diffTrees(src, authDaemon.path("secure"))).toBe("");

    const wrong = await authDaemon.writePasswordFile("nope");
    const denied = await runRsync({ binary: "rsync", args: buildFullArgs({ ...spec, passwordFile: wrong }) });
    expect(denied).toMatchObject({ outcome: "auth", exitCode: 5 });
    expect(denied.messages.join("\n")).toMatch(/auth failed on module secure/);
  });
});
