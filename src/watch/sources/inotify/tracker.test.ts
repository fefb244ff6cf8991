import { describe, expect, test } from "vitest";
import { FakeInotifyKernel } from "../../../../test/fixtures/fake-inotify-kernel.ts";
import { WatchSourceError, type SourceEvent } from "../source.ts";
import { ERRNO } from "./kernel.ts";
import { InotifyTracker } from "./tracker.ts";

// The tracker against an in-memory kernel that queues events as Linux does (see the fixture).

function setup(build?: (k: FakeInotifyKernel) => void) {
  const k = new FakeInotifyKernel();
  build?.(k);
  const t = new InotifyTracker(k, "/data");
  t.start();
  /** Reads the whole queue (`chunk` events per read), then reports it drained. */
  const pump = (chunk = Infinity): SourceEvent[] => {
    const out: SourceEvent[] = [];
    while (k.queued > 0) t.handle(k.read(chunk), out);
    t.drained(out);
    return out;
  };
  return { k, t, pump };
}

// What the tracker believes, as the sorted paths of its watches.
function known(t: InotifyTracker): string[] {
  return [...t.tree.wds()].map((wd) => t.tree.pathOf(wd) ?? `<unhooked ${wd}>`).sort();
}

function expectInSync(k: FakeInotifyKernel, t: InotifyTracker): void {
  expect(known(t)).toEqual(k.directories());
  for (const dir of k.directories()) expect(t.tree.pathOf(k.wdAt(dir) ?? -1)).toBe(dir);
  expect(k.watches).toBe(t.tree.size); // nothing watched that the tree forgot
}

const brief = (events: readonly SourceEvent[]) => events.map((e) => `${e.type} ${e.path}${e.from === undefined ? "" : ` <- ${e.from}`}`);
const DEEP = "a2/a3/a4/a5/a7/a8/a9";

test("start watches every directory, found by listing, none twice", () => {
  const { k, t } = setup((k) => {
    k.mkdirp(`src/a1/${DEEP}`);
    k.mkdirp("src/b/c");
    k.write("src/b/file");
  });
  expectInSync(k, t);
  expect(k.addWatchCalls).toBe(k.directories().length);
});

describe("names stay right after renames", () => {
  test("issue 10's reproduction: a change deep inside a renamed directory carries the new name", () => {
    const { k, t, pump } = setup((k) => k.mkdirp(`src/a1/${DEEP}`));
    k.rename("src/a1", "src/b1");
    k.write(`src/b1/${DEEP}/newfile`);
    k.write("src/b1/newtop");
    expect(brief(pump())).toEqual([
      "move-from a1",
      "move-to b1 <- a1",
      `create b1/${DEEP}/newfile`,
      `change b1/${DEEP}/newfile`,
      "create b1/newtop",
      "change b1/newtop",
    ]);
    expectInSync(k, t);
  });

  test("a -> b -> c in one read, then a change deep inside", () => {
    const { k, t, pump } = setup((k) => k.mkdirp("src/a/x/y"));
    k.rename("src/a", "src/b");
    k.rename("src/b", "src/c");
    k.write("src/c/x/y/f");
    expect(brief(pump())).toEqual(["move-from a", "move-to b <- a", "move-from b", "move-to c <- b", "create c/x/y/f", "change c/x/y/f"]);
    expectInSync(k, t);
  });

  test("a nested directory renamed inside a renamed directory", () => {
    const { k, t, pump } = setup((k) => k.mkdirp("src/a/x/deep"));
    k.rename("src/a", "src/b");
    k.rename("src/b/x", "src/b/y");
    k.write("src/b/y/deep/f");
    expect(brief(pump()).slice(-2)).toEqual(["create b/y/deep/f", "change b/y/deep/f"]);
    expectInSync(k, t);
  });

  test("a rename back over the old name, and a rename over an empty watched directory", () => {
    const { k, t, pump } = setup((k) => {
      k.mkdirp("src/a/x");
      k.mkdirp("src/empty");
    });
    k.rename("src/a", "src/b");
    k.mkdir("src/a");
    k.rename("src/b", "src/a"); // over the new, empty a
    k.write("src/a/x/f");
    pump();
    expectInSync(k, t);
    k.rename("src/a", "src/empty");
    k.write("src/empty/x/g");
    expect(brief(pump())).toEqual(["move-from a", "move-to empty <- a", "create empty/x/g", "change empty/x/g"]);
    expectInSync(k, t);
  });

  test("a directory moved out and back in, in one read and in two", () => {
    const { k, t, pump } = setup((k) => k.mkdirp("src/a/x"));
    k.rename("src/a", "out/a");
    k.rename("out/a", "src/back");
    expect(brief(pump())).toEqual(["delete a", "move-to back"]); // "back" is sent whole
    expectInSync(k, t);
    k.write("src/back/x/f");
    expect(brief(pump())).toEqual(["create back/x/f", "change back/x/f"]);
    k.rename("src/back", "out/again");
    expect(brief(pump())).toEqual(["delete back"]);
    expectInSync(k, t);
    k.write("out/again/x/ghost"); // no longer watched: nothing
    expect(pump()).toEqual([]);
    k.rename("out/again", "src/again");
    expect(brief(pump())).toEqual(["move-to again"]);
    expectInSync(k, t);
    k.write("src/again/x/h");
    expect(brief(pump())).toEqual(["create again/x/h", "change again/x/h"]);
  });

  test("a directory moved in from outside is watched whole", () => {
    const { k, t, pump } = setup();
    k.mkdirp("out/in/deep/deeper");
    k.rename("out/in", "src/in");
    expect(brief(pump())).toEqual(["move-to in"]);
    expectInSync(k, t);
  });

  test("a directory made, renamed and made again before the tracker looks: add_watch's wd sets the names right", () => {
    const { k, t, pump } = setup();
    k.mkdir("src/x");
    k.mkdir("src/x/sub");
    k.rename("src/x", "src/y");
    k.mkdir("src/x");
    k.write("src/y/sub/f");
    k.write("src/x/g");
    const events = brief(pump());
    expectInSync(k, t);
    // Neither file's event can come (their directories had no watch yet): both trees go whole.
    expect(events).toEqual(["move-from x", "move-to y <- x", "create-dir x"]);
    k.write("src/y/sub/f2");
    k.write("src/x/g2");
    expect(brief(pump())).toEqual(["create y/sub/f2", "change y/sub/f2", "create x/g2", "change x/g2"]);
  });
});

describe("rename pairing by cookie, no timing window", () => {
  test("a file renamed inside the tree is one pair; one moved out is a delete once the queue is drained", () => {
    const { k, pump } = setup((k) => {
      k.write("src/f");
      k.write("src/g");
    });
    k.rename("src/f", "src/f2");
    expect(brief(pump())).toEqual(["move-from f", "move-to f2 <- f"]);
    k.rename("src/g", "out/g");
    expect(brief(pump())).toEqual(["delete g"]);
  });

  test("the two halves split across reads still pair (the queue was not drained in between)", () => {
    const { k, pump } = setup((k) => {
      k.mkdirp("src/d/x");
      k.write("src/f");
    });
    k.rename("src/d", "src/e");
    k.rename("src/f", "src/f2");
    expect(brief(pump(1))).toEqual(["move-from d", "move-to e <- d", "move-from f", "move-to f2 <- f"]);
  });

  test("a watched directory moved out is settled by its MOVE_SELF, before the queue is drained", () => {
    const { k, t } = setup((k) => k.mkdirp("src/d/x"));
    k.rename("src/d", "out/d");
    const out: SourceEvent[] = [];
    t.handle(k.read(), out); // no drained(): MOVE_SELF alone decides
    expect(brief(out)).toEqual(["delete d"]);
    expectInSync(k, t);
  });
});

test("a write to a file kept open is a modify, its close a change; writes the kernel merged are one", () => {
  const { k, pump } = setup((k) => {
    k.mkdirp("src/logs");
    k.write("src/logs/app.log");
  });
  pump();
  k.append("src/logs/app.log");
  k.append("src/logs/app.log"); // merged at the queue's tail
  k.write("src/logs/other");
  k.append("src/logs/app.log");
  expect(brief(pump())).toEqual(["modify logs/app.log", "create logs/other", "change logs/other", "modify logs/app.log"]);
  k.write("src/logs/app.log");
  expect(brief(pump())).toEqual(["change logs/app.log"]);
});

describe("overflow", () => {
  test("a dropped directory creation and rename are repaired by the recrawl, and reported as an overflow", () => {
    const { k, t, pump } = setup((k) => k.mkdirp("src/a/x"));
    k.maxQueued = 3;
    k.mkdirp("src/new/deep/deeper");
    k.rename("src/a", "src/b");
    k.rename("src/b/x", "src/b/y");
    const events = pump();
    expect(events.at(-1)).toEqual({ type: "overflow", path: "", isDir: true });
    expectInSync(k, t);
    k.maxQueued = Infinity;
    k.write("src/b/y/f");
    k.write("src/new/deep/deeper/g");
    expect(brief(pump())).toEqual(["create b/y/f", "change b/y/f", "create new/deep/deeper/g", "change new/deep/deeper/g"]);
  });

  test("watches of directories that vanished while events were dropped are removed", () => {
    const { k, t, pump } = setup((k) => k.mkdirp("src/a/x/y"));
    k.maxQueued = 1;
    k.rename("src/a", "out/a");
    pump();
    expectInSync(k, t);
  });
});

describe("failures", () => {
  test("the watch limit at the source itself is an AddWatchError(ENOSPC): nothing can be watched", () => {
    const k = new FakeInotifyKernel();
    k.mkdirp("src/a/b/c");
    k.maxWatches = 0;
    expect(() => new InotifyTracker(k, "/data").start()).toThrow(expect.objectContaining({ errno: ERRNO.ENOSPC }));
  });
  test("the root moved away or deleted: root-gone", () => {
    const moved = setup((k) => k.mkdir("src/a"));
    moved.k.rename("src", "out/src");
    expect(() => moved.pump()).toThrow(expect.objectContaining({ reason: "root-gone", message: "the watched directory /data was deleted, moved or unmounted (MOVE_SELF)" }));
    const deleted = setup((k) => k.mkdir("src/a"));
    deleted.k.rm("src");
    expect(() => deleted.pump()).toThrow(WatchSourceError);
  });

  test("a subdirectory deleted is forgotten with its watch", () => {
    const { k, t, pump } = setup((k) => k.mkdirp("src/a/b/c"));
    k.rm("src/a");
    expect(brief(pump())).toEqual(["delete a/b/c", "delete a/b", "delete a"]);
    expectInSync(k, t);
  });
});

// A seeded pseudo-random sequence of directory operations, read back at random points: after
// each step the tree must equal the file system, and a file made anywhere must carry its path.
test.each([42, 7, 2025])("random renames, moves in and out, deletions and overflows keep the tree equal to the file system (seed %i)", (start) => {
  let seed = start;
  const random = (n: number): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const names = ["a", "b", "c", "d"];
  const { k, t, pump } = setup((k) => k.mkdirp("src/a/b/c"));
  const log: string[] = [];
  const pick = (top: string): string => {
    const dirs = top === "src" ? k.directories().map((d) => (d === "" ? "src" : `src/${d}`)) : ["out", ...k_out(k)];
    return dirs[random(dirs.length)] as string;
  };
  const k_out = (k: FakeInotifyKernel): string[] => {
    const res: string[] = [];
    const walk = (p: string): void => {
      for (const child of k.listOutside(p)) {
        res.push(`${p}/${child}`);
        walk(`${p}/${child}`);
      }
    };
    walk("out");
    return res;
  };
  for (let round = 0; round < 400; round++) {
    k.maxQueued = random(10) === 0 ? 2 + random(4) : Infinity;
    const ops = 1 + random(5);
    for (let i = 0; i < ops; i++) {
      const from = pick(random(4) === 0 ? "out" : "src");
      const to = `${pick(random(4) === 0 ? "out" : "src")}/${names[random(names.length)] as string}`;
      try {
        switch (random(4)) {
          case 0:
            k.mkdir(to);
            log.push(`mkdir ${to}`);
            break;
          case 1:
          case 2:
            if (from !== "src" && from !== "out") k.rename(from, to);
            log.push(`mv ${from} ${to}`);
            break;
          case 3:
            if (from !== "src" && from !== "out") k.rm(from);
            log.push(`rm -r ${from}`);
            break;
        }
      } catch {
        // exists, missing, into itself: not every random operation is possible
      }
    }
    const chunk = 1 + random(8);
    log.push(`read ${chunk} at a time${k.maxQueued === Infinity ? "" : `, queue of ${k.maxQueued}`}`);
    pump(chunk);
    try {
      expectInSync(k, t);
    } catch (error) {
      throw new Error(`after round ${round}:\n${log.slice(-30).join("\n")}`, { cause: error });
    }
    const dir = pick("src");
    k.write(`${dir}/probe`);
    const probe = `${dir === "src" ? "" : `${dir.slice(4)}/`}probe`;
    expect(brief(pump())).toEqual([`create ${probe}`, `change ${probe}`]);
    k.rm(`${dir}/probe`);
    pump();
  }
});

// Issue 18: a directory the kernel will not watch degrades only itself.
describe("unwatched directories", () => {
  const listed = (t: InotifyTracker) => t.unwatched.list().map((u) => `${t.tree.pathOf(u.parent) ?? "?"}|${u.name} ${u.reason}`).sort();

  test("the watch limit at start leaves the directories past it unwatched, the rest watched", () => {
    const k = new FakeInotifyKernel();
    k.mkdirp("src/a/b/c");
    k.mkdir("src/d");
    k.maxWatches = 3;
    const t = new InotifyTracker(k, "/data", () => 1000);
    expect(t.start()).toBe(3); // src, a, a/b
    expect(listed(t)).toEqual(["a/b|c watch-limit", "|d watch-limit"]);
    expect(t.unwatched.list()[0]).toMatchObject({ reason: "watch-limit", since: 1000 });
    expect(t.unwatched.changed).toBe(true);
  });

  test("a new directory past the limit is unwatched and still announced; events elsewhere keep flowing", () => {
    const { k, t, pump } = setup((k) => k.mkdir("src/a"));
    k.maxWatches = 2;
    k.mkdirp("src/b/c");
    k.write("src/a/f");
    expect(brief(pump())).toEqual(["create a/f", "change a/f", "create-dir b"]);
    expect(listed(t)).toEqual(["|b watch-limit"]);
    k.write("src/a/g");
    expect(brief(pump())).toEqual(["create a/g", "change a/g"]);
  });

  test("retry: still refused is rescanned and keeps its since; once the limit allows it, it is watched, rescanned and dropped", () => {
    let now = 1000;
    const k = new FakeInotifyKernel();
    k.mkdir("src/a");
    const t = new InotifyTracker(k, "/data", () => now);
    t.start();
    k.maxWatches = 2;
    k.mkdirp("src/b/c");
    const out: SourceEvent[] = [];
    t.handle(k.read(), out);
    t.drained(out);
    now = 2000;
    const again: SourceEvent[] = [];
    t.retryUnwatched(again);
    expect(brief(again)).toEqual(["rescan b"]);
    expect(t.unwatched.list()[0]?.since).toBe(1000);
    k.maxWatches = Infinity;
    const watched: SourceEvent[] = [];
    t.retryUnwatched(watched);
    expect(brief(watched)).toEqual(["rescan b"]);
    expect(t.unwatched.size).toBe(0);
    expectInSync(k, t);
    k.write("src/b/c/f");
    const later: SourceEvent[] = [];
    t.handle(k.read(), later);
    expect(brief(later)).toEqual(["create b/c/f", "change b/c/f"]);
  });

  test("an unwatched directory deleted or moved is dropped; its new name is tried afresh", () => {
    const { k, t, pump } = setup((k) => k.mkdir("src/a"));
    k.maxWatches = 2;
    k.mkdir("src/b");
    k.mkdir("src/x");
    pump();
    expect(listed(t)).toEqual(["|b watch-limit", "|x watch-limit"]);
    k.rm("src/x");
    k.rename("src/b", "src/a/b2");
    pump();
    expect(listed(t)).toEqual(["a|b2 watch-limit"]);
  });

  test("a rename of its parent keeps its path right", () => {
    const { k, t, pump } = setup((k) => k.mkdir("src/a"));
    k.maxWatches = 2;
    k.mkdir("src/a/b");
    pump();
    k.rename("src/a", "src/z");
    pump();
    const out: SourceEvent[] = [];
    t.retryUnwatched(out);
    expect(brief(out)).toEqual(["rescan z/b"]);
  });

  test("a path too long (ENAMETOOLONG) is unwatched, its siblings and the root are watched", () => {
    const long = "x".repeat(40);
    const { k, t, pump } = setup((k) => {
      k.maxPathLength = 60;
      k.mkdirp(`src/${long}/${long}/deeper`);
      k.mkdir("src/ok");
    });
    expect(listed(t)).toEqual([`${long}|${long} name-too-long`]);
    k.write("src/top");
    k.write("src/ok/f");
    expect(brief(pump())).toEqual(["create top", "change top", "create ok/f", "change ok/f"]);
    // Not rescanned: rsync cannot send a name past PATH_MAX either (it would fail every 10 s).
    const retried: SourceEvent[] = [];
    t.retryUnwatched(retried);
    expect(retried).toEqual([]);
    expect(t.unwatched.size).toBe(1);
  });

  test("an overflow's recrawl keeps them, and retries drop the ones watched meanwhile", () => {
    const { k, t, pump } = setup((k) => k.mkdir("src/a"));
    k.maxWatches = 2;
    k.mkdir("src/b");
    pump();
    k.maxQueued = 1;
    k.maxWatches = Infinity;
    k.write("src/a/1");
    k.write("src/a/2");
    pump();
    expect(t.unwatched.size).toBe(1); // the recrawl watched b, the set learns it at the next retry
    const out: SourceEvent[] = [];
    t.retryUnwatched(out);
    expect(t.unwatched.size).toBe(0);
    expectInSync(k, t);
  });
});
