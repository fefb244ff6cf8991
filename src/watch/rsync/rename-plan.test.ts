import { expect, test } from "vitest";
import { planEntriesAfterRenames, planRenameSteps } from "./rename-plan.ts";

const spec = { source: "/src", target: "rsync://u@h:873/m", daemonTarget: true, passwordFile: "/p", exclude: ["*.tmp", ".cache/"], rsyncArgs: [] };

test("a renamed directory is synced alone first, with the old copy on the target as hard-link basis", () => {
  expect(planRenameSteps(spec, new Map([["x/new dir", "old"]]))).toEqual([
    {
      from: "old",
      to: "x/new dir",
      args: [
        "-a",
        "--delete",
        "--timeout=60",
        "--sockopts=TCP_NODELAY",
        "--contimeout=15",
        "--password-file=/p",
        "--info=stats1",
        "--exclude=*.tmp",
        "--exclude=.cache/",
        "--link-dest=../../old",
        "/src/x/new dir/",
        "rsync://u@h:873/m/x/new dir/",
      ],
    },
  ]);
});

test("--inplace users get --copy-dest, so no file on the target is shared", () => {
  const [step] = planRenameSteps({ ...spec, rsyncArgs: ["--inplace"] }, new Map([["new", "old"]]));
  expect(step?.args).toContain("--copy-dest=../old");
});

test("no rename step when excludes would mean something else in a subtree, the user chose a basis, or a name is not UTF-8", () => {
  const renames = new Map([["new", "old"]]);
  expect(planRenameSteps({ ...spec, exclude: ["/build"] }, renames)).toEqual([]);
  expect(planRenameSteps({ ...spec, exclude: ["a/b"] }, renames)).toEqual([]);
  expect(planRenameSteps({ ...spec, exclude: ["logs/**"] }, renames)).toEqual([]);
  expect(planRenameSteps({ ...spec, rsyncArgs: ["--link-dest=/x"] }, renames)).toEqual([]);
  expect(planRenameSteps(spec, new Map([["n\xff", "old"]]))).toEqual([]);
  expect(planRenameSteps({ ...spec, exclude: ["tmp/", "cache/***"] }, renames)).toHaveLength(1);
});

test("after the rename steps the incremental run drops the synced trees but keeps their parents", () => {
  const entries = new Map([
    ["old", true],
    ["a/new", true],
    ["f", false],
  ]);
  expect([...planEntriesAfterRenames(entries, ["a/new"])].sort()).toEqual([
    ["a", false],
    ["f", false],
    ["old", true],
  ]);
  expect(entries.size).toBe(3); // not mutated
});
