import { expect, test } from "vitest";
import { parseIoTimeoutMs } from "./io-watchdog.ts";

test("the run's I/O timeout is the last --timeout on the command line; 0 or none is no timeout", () => {
  expect(parseIoTimeoutMs(["-a", "--timeout=60", "--contimeout=15"])).toBe(60_000);
  expect(parseIoTimeoutMs(["--timeout=60", "--timeout=100"])).toBe(100_000);
  expect(parseIoTimeoutMs(["--timeout=60", "--timeout", "5"])).toBe(5000);
  expect(parseIoTimeoutMs(["--timeout=60", "--timeout=0"])).toBeUndefined();
  expect(parseIoTimeoutMs(["--contimeout=15"])).toBeUndefined();
});
