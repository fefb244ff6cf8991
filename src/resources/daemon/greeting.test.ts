import { expect, test } from "vitest";
import { greetsFirst } from "./greeting.ts";

test("a daemon with proxy protocol on waits for the proxy's header: it is not probed for its greeting", () => {
  expect(greetsFirst(undefined)).toBe(true);
  expect(greetsFirst({})).toBe(true);
  expect(greetsFirst({ "proxy protocol": false })).toBe(true);
  expect(greetsFirst({ "proxy protocol": "no" })).toBe(true);
  expect(greetsFirst({ "proxy protocol": true })).toBe(false);
  expect(greetsFirst({ "proxy protocol": "Yes" })).toBe(false);
});
