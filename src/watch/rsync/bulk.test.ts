import { describe, expect, it } from "vitest";
import type { Batch } from "../batching/types.ts";
import { isBulkRun } from "./bulk.ts";

const incremental = (n: number): Batch => ({ kind: "incremental", entries: new Map(Array.from({ length: n }, (_, i) => [`f${i}`, false] as const)), renames: new Map() });

describe("isBulkRun", () => {
  const now = 1_000_000;
  it("a full sync is bulk", () => {
    expect(isBulkRun({ kind: "full" }, undefined, now)).toBe(true);
  });
  it("a batch of more than 1,000 paths is bulk; a few paths after a quiet spell is not", () => {
    expect(isBulkRun(incremental(1001), undefined, now)).toBe(true);
    expect(isBulkRun(incremental(1000), undefined, now)).toBe(false);
    expect(isBulkRun(incremental(1), { durationMs: 30, endedAt: now - 5 }, now)).toBe(false);
  });
  it("a lane working through a backlog (its last run was long and just ended) runs its next batch niced, however small", () => {
    expect(isBulkRun(incremental(3), { durationMs: 250, endedAt: now - 10 }, now)).toBe(true);
    expect(isBulkRun(incremental(3), { durationMs: 249, endedAt: now - 10 }, now)).toBe(false);
  });
  it("a long run long ago does not make the next change wait", () => {
    expect(isBulkRun(incremental(1), { durationMs: 5000, endedAt: now - 1000 }, now)).toBe(false);
    expect(isBulkRun(incremental(1), { durationMs: 5000, endedAt: now - 999 }, now)).toBe(true);
  });
});
