import { describe, expect, test } from "vitest";
import { parseChildrenCpu } from "./child-cpu.ts";

describe("parseChildrenCpu", () => {
  test("cutime + cstime in seconds, whatever the command name holds", () => {
    const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 200 0 0 50 20 123 77 20 0 11 0 100 1000 100 18446744073709551615";
    expect(parseChildrenCpu(stat)).toBe(2);
    expect(parseChildrenCpu("garbage")).toBeUndefined();
  });
});
