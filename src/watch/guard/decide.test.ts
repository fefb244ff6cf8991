import { describe, expect, test } from "vitest";
import { baselineOf, formatDevice, guardHaltMessage, maxDeleteHaltMessage, planEmptySourceGuard, planSourceGuard, type RootObservation } from "./decide.ts";
import { listingHasEntries } from "./check.ts";
import { parseMountPoints } from "./source-root.ts";

const TMPFS = 39; // 0:39
const DISK = 65024; // 254:0
const mounted: RootObservation = { exists: true, directory: true, dev: TMPFS, mountPoint: true, empty: false };
const baseline = baselineOf(mounted);

describe("the deletion guard before a full sync", () => {
  test("the same mounted, non-empty tree: the full sync runs", () => {
    expect(planSourceGuard(mounted, baseline)).toEqual({ verdict: "run" });
  });

  test("a missing root, or a file in its place, halts", () => {
    expect(planSourceGuard({ exists: false, why: "no such file or directory" }, baseline)).toEqual({
      verdict: "halt",
      reason: "source-missing",
      detail: "it is missing (no such file or directory)",
    });
    expect(planSourceGuard({ exists: true, directory: false, dev: DISK, mountPoint: false, empty: undefined }, baseline)).toMatchObject({ reason: "source-missing" });
  });

  test("unmounted: the directory underneath, on the parent's device, halts even when it holds files", () => {
    const underneath: RootObservation = { exists: true, directory: true, dev: DISK, mountPoint: false, empty: false };
    expect(planSourceGuard(underneath, baseline)).toEqual({
      verdict: "halt",
      reason: "source-unmounted",
      detail: "it was a mount point when the watcher started and is not one now (device 0:39, now 254:0)",
    });
  });

  test("another filesystem mounted in its place halts", () => {
    expect(planSourceGuard({ ...mounted, dev: 41 }, baseline)).toMatchObject({ verdict: "halt", reason: "source-device-changed" });
  });

  test("empty: ask the target; halt only when it holds something a full sync would delete", () => {
    const empty: RootObservation = { ...mounted, empty: true };
    expect(planSourceGuard(empty, baseline)).toEqual({ verdict: "ask-target" });
    expect(planEmptySourceGuard(true)).toEqual({ verdict: "halt", reason: "source-emptied", detail: "it is empty and the target is not" });
    expect(planEmptySourceGuard(false)).toEqual({ verdict: "run" });
  });

  test("a root not readable as a directory listing is not called empty (rsync then fails and deletes nothing)", () => {
    expect(planSourceGuard({ ...mounted, empty: undefined }, baseline)).toEqual({ verdict: "run" });
  });

  test("no baseline yet (the root was missing at start): the first observation becomes it", () => {
    const plain: RootObservation = { exists: true, directory: true, dev: DISK, mountPoint: false, empty: false };
    expect(planSourceGuard(plain, undefined)).toEqual({ verdict: "run" });
    expect(baselineOf(plain)).toEqual({ dev: DISK, mountPoint: false });
    expect(baselineOf({ exists: false, why: "x" })).toBeUndefined();
  });
});

test("messages say what was found, that nothing was deleted, and what to do", () => {
  expect(guardHaltMessage("/srv/data", "it is empty and the target is not")).toBe(
    "source looks unmounted or emptied: /srv/data: it is empty and the target is not; nothing deleted on the target; fix the source, then `rtsync apply` or restart the watcher",
  );
  expect(maxDeleteHaltMessage(100, 100, 4900)).toBe(
    "a full sync would delete more files on the target than maxDelete (100) allows: rsync deleted 100 and skipped 4900 more; " +
      "halted so that no further full sync deletes more; check the source (`rtsync verify` lists what differs), then fix it, " +
      "or raise maxDelete if the deletions are wanted, and run `rtsync apply`",
  );
  expect(formatDevice(DISK)).toBe("254:0");
  expect(formatDevice(0x12345678)).toBe(`${0x456}:${0x78 + 0x123 * 256}`);
});

test("mount points from /proc/self/mountinfo, octal escapes undone", () => {
  const text = [
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
    "98 22 0:39 / /tmp/with\\040space rw,relatime shared:50 - tmpfs tmpfs rw",
    "",
  ].join("\n");
  expect([...parseMountPoints(text)]).toEqual(["/", "/tmp/with space"]);
});

test("a --list-only listing has entries when it shows more than the directory itself", () => {
  expect(listingHasEntries("drwxr-xr-x          4,096 2026/11/29 10:33:33 .\n")).toBe(false);
  expect(listingHasEntries("drwxr-xr-x          4,096 2026/11/29 10:33:33 .\n-rw-r--r--              3 2026/11/29 10:33:33 a file\n")).toBe(true);
  expect(listingHasEntries("")).toBe(false);
});
