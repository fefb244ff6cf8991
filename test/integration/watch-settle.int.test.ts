import { open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WatcherKind } from "../../src/state/watch-spec.ts";
import { startHarness } from "../fixtures/watch-harness.ts";
import { startRsyncDaemon, type RsyncDaemon } from "../helpers/rsync-daemon.ts";
import { waitFor, waitForSameTree } from "../helpers/temp-tree.ts";

// Issue 18, "files that stay open are sent anyway": a file kept open and appended every 100 ms
// (a log, a database) reached the replica only when closed (MODIFY was not watched, only
// CLOSE_WRITE sent a file). With `settle`, a written path is sent one settle time after its
// write, again every settle time while it keeps growing, and each copy is whole.

let daemon: RsyncDaemon;
beforeAll(async () => {
  daemon = await startRsyncDaemon({ modules: ["m"] });
});
afterAll(() => daemon.dispose());

const watchers: WatcherKind[] = ["inotify", "inotifywait"];
const line = (i: number): string => `line ${String(i).padStart(5, "0")} of a log that is never closed\n`;

describe.each(watchers)("watcher %s", (watcher) => {
  test("a file held open and appended every 100 ms grows on the replica before it is closed, in whole copies", async () => {
    const h = await startHarness({ daemon, module: "m", watcher, spec: { settleMs: 1000 } });
    const log = path.join(h.source, "app.log");
    const copy = path.join(h.replica, "app.log");
    await writeFile(log, line(0)); // created and closed: sent on the close, as always
    await waitFor(async () => (await readFile(copy, "utf8").catch(() => "")) === line(0) || "the first line is not on the replica");

    const seen = new Set<number>(); // sizes of the replica's copy while the file was open
    const copies: string[] = [];
    const pendingSamples: number[] = [];
    const file = await open(log, "a");
    const started = Date.now();
    let written = line(0);
    try {
      // At least 8 s of appends, and until the replica showed two sizes past the first line (the
      // bound is only a guard against a hang: a slow machine makes it longer, never flaky).
      for (let i = 1; (Date.now() - started < 8000 || seen.size < 2) && Date.now() - started < 60_000; i++) {
        await file.appendFile(line(i));
        written += line(i);
        await new Promise((r) => setTimeout(r, 20)); // the write's event reaches the watcher
        pendingSamples.push(h.engine.pending());
        const now = await readFile(copy, "utf8");
        if (now.length > line(0).length) {
          seen.add(now.length);
          copies.push(now);
        }
        await new Promise((r) => setTimeout(r, 80));
      }
    } finally {
      await file.close();
    }
    expect(seen.size, "distinct sizes of the replica's copy while the file was still open").toBeGreaterThanOrEqual(2);
    for (const c of copies) expect(written.startsWith(c), "each copy on the replica is a whole prefix of the log").toBe(true);
    // Pending counts the written, unsent file: not 0 while it is appended (a run in flight counts
    // too, but runs take a small part of each settle time: without the count most samples are 0).
    const zero = pendingSamples.filter((p) => p === 0).length;
    expect(zero, `samples of pending that were 0, of ${pendingSamples.length}: ${pendingSamples.join(" ")}`).toBeLessThan(pendingSamples.length / 2);

    await waitForSameTree(h.source, h.replica);
    expect(await readFile(copy, "utf8")).toBe(written);
    expect(h.runs("full")).toHaveLength(1); // the initial sync only: the settle timer sent it
  });
});
