import { expect, test } from "vitest";
import { classifyExitCode, parseProgressLine, parseTransferStats } from "./result.ts";

test("exit codes decide the fate of a batch", () => {
  const table = Object.fromEntries([0, 1, 2, 3, 5, 10, 12, 23, 24, 30, 35, 255].map((c) => [c, classifyExitCode(c)]));
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
