import { expect, test } from "vitest";
import {
  classifyExitCode,
  classifyRun,
  firstErrorLine,
  parseFailureReasons,
  parseFullSyncStats,
  parseProgressLine,
  parseSkippedDeletions,
  parseTransferStats,
} from "./result.ts";

test("exit codes decide the fate of a batch", () => {
  const table = Object.fromEntries([0, 1, 2, 3, 5, 10, 12, 23, 24, 25, 30, 35, 255].map((c) => [c, classifyExitCode(c)]));
  expect(table).toEqual({
    0: "ok",
    1: "fatal",
    2: "fatal",
    3: "transient",
    5: "transient",
    10: "transient",
    12: "transient",
    23: "partial",
    24: "ok",
    25: "max-delete",
    30: "transient",
    35: "transient",
    255: "transient",
  });
});

test("reads the bytes sent from --info=stats1", () => {
  expect(parseTransferStats("\nsent 1,234,567 bytes  received 91 bytes  624.00 bytes/sec\ntotal size is 4\n")).toEqual({
    bytesSent: 1234567,
    bytesReceived: 91,
  });
  expect(parseTransferStats("")).toBeUndefined();
});

test("reads --info=progress2 updates", () => {
  expect(parseProgressLine("     12,345,678  45%    1.23MB/s    0:00:01 (xfr#12, to-chk=100/2000)")).toEqual({
    bytes: 12345678,
    percent: 45,
    files: 12,
    toCheck: 100,
    total: 2000,
  });
  expect(parseProgressLine("          0   0%    0.00kB/s    0:00:00")).toEqual({ bytes: 0, percent: 0 });
  expect(parseProgressLine("sending incremental file list")).toBeUndefined();
});

test("exit 5 with 'auth failed' is an authentication problem; other exit-5 refusals stay transient", () => {
  const refused = ["@ERROR: auth failed on module secure", "rsync error: error starting client-server protocol (code 5) at main.c(1863) [sender=3.5.0]"];
  expect(classifyRun(5, refused)).toBe("auth");
  expect(classifyRun(5, ["@ERROR: max connections (2) reached -- try again later"])).toBe("transient");
  expect(classifyRun(23, refused)).toBe("partial");
});

test("--max-delete stopping deletions is seen by the exit code (local) or by rsync's line (a daemon receiver exits 0)", () => {
  expect(classifyRun(25, [])).toBe("max-delete");
  expect(classifyRun(0, ["Deletions stopped due to --max-delete limit (3 skipped)"])).toBe("max-delete");
  expect(classifyRun(0, [])).toBe("ok");
});

test("rsync's reasons for a partial transfer, once each, with the side that failed", () => {
  const messages = [
    'rsync: [generator] failed to set permissions on "/t/sub": Operation not permitted (1)',
    'rsync: [receiver] mkstemp "/t/sub/.a.vuojQZ" (in m) failed: Permission denied (13)',
    'rsync: [receiver] mkstemp "/t/sub/.b.Xk2p0z" (in m) failed: Permission denied (13)',
    'rsync: [receiver] write failed on "/t/big" (in m): No space left on device (28)',
    'rsync: [sender] send_files failed to open "/src/secret": Permission denied (13)',
    "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]",
  ];
  expect(parseFailureReasons(messages)).toEqual([
    "Operation not permitted (1) on the target",
    "Permission denied (13) on the target",
    "No space left on device (28) on the target",
    "Permission denied (13) on the source",
  ]);
  expect(firstErrorLine(messages)).toBe(messages[0]);
  expect(parseFailureReasons(["rsync error: some files/attrs were not transferred (see previous errors) (code 23)"])).toEqual([]);
});

test("--info=stats2 gives a full sync's files transferred and deleted; --max-delete says how many it skipped", () => {
  const stats = [
    "Number of files: 20,001 (reg: 20,000, dir: 1)",
    "Number of created files: 20,000 (reg: 20,000)",
    "Number of deleted files: 3 (reg: 3)",
    "Number of regular files transferred: 20,000",
    "Total file size: 11 bytes",
    "sent 178 bytes  received 34 bytes  424.00 bytes/sec",
  ].join("\n");
  expect(parseFullSyncStats(stats)).toEqual({ transferred: 20000, deleted: 3 });
  expect(parseFullSyncStats("sent 1 bytes  received 2 bytes")).toBeUndefined();
  expect(parseSkippedDeletions(["Deletions stopped due to --max-delete limit (1,203 skipped)"])).toBe(1203);
  expect(parseSkippedDeletions(["something else"])).toBeUndefined();
});
