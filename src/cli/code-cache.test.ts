import { expect, test } from "vitest";
import { buildBundleIdLine, buildCacheFile, parseBundleId, parseCacheFile, type CacheIdentity } from "./code-cache.ts";

const ID: CacheIdentity = { bundle: "a".repeat(64), node: "v20.20.2", arch: "x64" };
const DATA = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));

test("a cache file gives back V8's data for the identity it was made for", () => {
  const found = parseCacheFile(buildCacheFile(ID, DATA), ID);
  expect(found).toEqual({ ok: true, data: DATA });
});

test.each([
  ["another build", { ...ID, bundle: "b".repeat(64) }, "made for another build"],
  ["another node", { ...ID, node: "v22.12.0" }, "made by node v20.20.2 x64"],
  ["another architecture", { ...ID, arch: "arm64" }, "made by node v20.20.2 x64"],
])("a cache made for %s is not used", (_, want, reason) => {
  expect(parseCacheFile(buildCacheFile(ID, DATA), want)).toEqual({ ok: false, reason });
});

test("a flipped byte, a cut or added tail, or no header at all is not used", () => {
  const file = buildCacheFile(ID, DATA);
  const flipped = Buffer.from(file);
  flipped[flipped.length - 100] = (flipped[flipped.length - 100] ?? 0) ^ 0xff;
  expect(parseCacheFile(flipped, ID)).toEqual({ ok: false, reason: "damaged" });
  expect(parseCacheFile(file.subarray(0, file.length - 1), ID)).toEqual({ ok: false, reason: "damaged" });
  expect(parseCacheFile(Buffer.concat([file, Buffer.from([0])]), ID)).toEqual({ ok: false, reason: "damaged" });
  expect(parseCacheFile(DATA, ID)).toMatchObject({ ok: false });
  expect(parseCacheFile(Buffer.from("{}\n"), ID)).toEqual({ ok: false, reason: "not an rtsync code cache of this format" });
  expect(parseCacheFile(Buffer.alloc(0), ID)).toEqual({ ok: false, reason: "no header" });
});

test("the bundle's id is the SHA-256 of its code, read back from its first line", () => {
  const code = "module.exports = 1;\n";
  const line = buildBundleIdLine(code);
  expect(line).toBe("// rtsync-bundle 6e66e366f0aefb84ad8110afcd9b2245702c643c831edf8316ff048fec739d2e\n");
  expect(parseBundleId(line + code)).toBe("6e66e366f0aefb84ad8110afcd9b2245702c643c831edf8316ff048fec739d2e");
  expect(buildBundleIdLine(`${code} `)).not.toBe(line);
  expect(parseBundleId(code)).toBeUndefined();
});
