import { describe, expect, it } from "vitest";
import { hostCrashLoops, type HostStatus } from "./host-jobs.ts";

const status = (jobs: HostStatus["jobs"]): HostStatus => ({ version: 1, pid: 10, startedAt: "t", heartbeatAt: "t", jobs });
const job = (o: Partial<HostStatus["jobs"][string]>): HostStatus["jobs"][string] => ({ specHash: "h", state: "running", since: "t", restarts: 0, ...o });

describe("hostCrashLoops", () => {
  it("a job failing 3 times in a row and waiting for its next try crash-loops", () => {
    expect(hostCrashLoops(status({ a: job({ state: "restarting", failures: 3, restarts: 3, retryAt: "2026-12-06T00:00:08Z" }) }))).toEqual([{ name: "a", failures: 3, retryAt: "2026-12-06T00:00:08Z" }]);
  });
  it("fewer failures, a job that runs again, or no host: none", () => {
    expect(hostCrashLoops(status({ a: job({ state: "restarting", failures: 2 }), b: job({ state: "running", failures: 5, restarts: 5 }) }))).toEqual([]);
    expect(hostCrashLoops(undefined)).toEqual([]);
  });
});
