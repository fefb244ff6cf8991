import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { expect, onTestFinished } from "vitest";

// Temp directories for integration tests, and the replica check of issue 4:
// `rsync -anc --delete --itemize-changes SRC/ DST/` must print nothing.

export type TreeSpec = Readonly<Record<string, string | Buffer>>;

/** A fresh 0755 temp dir, removed when the current test finishes (only inside a test). */
export async function makeTempDir(prefix = "rtsync-"): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes files (relative paths; parent dirs are created) under `root`. */
export async function writeTree(root: string, files: TreeSpec): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

/** A temp dir holding `files`, removed after the current test. */
export async function makeTempTree(files: TreeSpec = {}, prefix?: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  await writeTree(dir, files);
  return dir;
}

/** The itemized differences between two trees (empty: identical by content, attributes and set of names). */
export async function diffTrees(source: string, replica: string, exclude: readonly string[] = []): Promise<string> {
  const args = ["-anc", "--delete", "--itemize-changes", ...exclude.map((e) => `--exclude=${e}`), `${source}/`, `${replica}/`];
  const r = await execa("rsync", args, { reject: false, env: { LC_ALL: "C" }, encoding: "latin1" });
  if (r.exitCode !== 0) return `rsync -anc exited ${String(r.exitCode)}: ${String(r.stderr)}`;
  // The root directory's own times change with every run; only its content matters.
  return String(r.stdout)
    .split("\n")
    .filter((l) => l !== "" && !/^\.d\S* \.\/$/.test(l))
    .join("\n");
}

export async function expectSameTree(source: string, replica: string, exclude: readonly string[] = []): Promise<void> {
  expect(await diffTrees(source, replica, exclude)).toBe("");
}

/** Polls until the replica equals the source; fails with the last difference after `timeoutMs`. */
export async function waitForSameTree(
  source: string,
  replica: string,
  options: { readonly exclude?: readonly string[]; readonly timeoutMs?: number } = {},
): Promise<void> {
  await waitFor(async () => {
    const diff = await diffTrees(source, replica, options.exclude);
    return diff === "" ? true : diff;
  }, options.timeoutMs ?? 20_000);
}

/** Polls `check` until it returns true; it returns a description of what is still wrong otherwise. */
export async function waitFor(check: () => Promise<true | string> | true | string, timeoutMs = 20_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: true | string = "never checked";
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`not converged after ${timeoutMs} ms:\n${last}`);
}
