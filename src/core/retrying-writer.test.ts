import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, test } from "vitest";
import { startRetryingWriter } from "./retrying-writer.ts";

// A write that fails while `broken` holds, like a stateDir made immutable and fixed later.
function disk() {
  const state = { broken: true, written: [] as string[], attempts: 0 };
  const write = async (doc: string): Promise<void> => {
    state.attempts++;
    await Promise.resolve();
    if (state.broken) throw new Error("EPERM: operation not permitted");
    state.written.push(doc);
  };
  return { state, write };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met");
    await sleep(2);
  }
}

test("a failed write is tried again with backoff until the disk takes it, and the latest content wins", async () => {
  const { state, write } = disk();
  const errors: number[] = [];
  let recovered = 0;
  const w = startRetryingWriter(write, { delayMs: 0, retry: { initialMs: 5, maxMs: 20 }, onError: (_e, attempt) => errors.push(attempt), onRecovered: (n) => (recovered = n) });
  w.update("one");
  expect(await w.flush()).toBe(false);
  await until(() => errors.length >= 3);
  w.update("two");
  state.broken = false;
  await until(() => state.written.length > 0);
  expect(state.written).toEqual(["two"]);
  expect(recovered).toBeGreaterThanOrEqual(3);
  // Written: no more attempts until something new comes.
  const attempts = state.attempts;
  await sleep(50);
  expect(state.attempts).toBe(attempts);
  w.close();
});

test("updates within delayMs become one write; flush writes at once", async () => {
  const { state, write } = disk();
  state.broken = false;
  const w = startRetryingWriter(write, { delayMs: 30 });
  w.update("a");
  w.update("b");
  await until(() => state.written.length > 0);
  expect(state.written).toEqual(["b"]);
  w.update("c");
  expect(await w.flush()).toBe(true);
  expect(state.written).toEqual(["b", "c"]);
  w.close();
});

test("close stops the retries", async () => {
  const { state, write } = disk();
  const w = startRetryingWriter(write, { delayMs: 0, retry: { initialMs: 5, maxMs: 5 } });
  w.update("x");
  await w.flush();
  w.close();
  const attempts = state.attempts;
  await sleep(40);
  expect(state.attempts).toBe(attempts);
});

test("repair writes the document again when its file was written over or removed, and not otherwise", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rtsync-writer-"));
  try {
    const file = join(dir, "status.json");
    let writes = 0;
    const w = startRetryingWriter(
      async (doc: string) => {
        await writeFile(`${file}.tmp`, doc);
        await rename(`${file}.tmp`, file);
        writes++;
      },
      { delayMs: 0, fileOf: () => file },
    );
    w.repair(); // nothing written yet: nothing to repair
    w.update("mine");
    await w.flush();
    w.repair(); // as written
    await sleep(20);
    expect(writes).toBe(1);
    await writeFile(file, "{ garbage");
    w.repair();
    await until(() => writes === 2);
    expect(await readFile(file, "utf8")).toBe("mine");
    await rm(file);
    w.repair();
    await until(() => writes === 3);
    expect(await readFile(file, "utf8")).toBe("mine");
    w.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
