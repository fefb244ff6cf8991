import { expect, test } from "vitest";
import { loadInotifyBinding, planAddonSearch } from "./binding.ts";

test("the addon is looked for in every directory above the module, nearest first", () => {
  expect(planAddonSearch("/opt/rtsync/dist/cli")).toEqual(["/opt/rtsync/dist/cli", "/opt/rtsync/dist", "/opt/rtsync", "/opt", "/"]);
});

test("the addon built by npm ci loads from source (vitest runs src directly)", () => {
  const load = loadInotifyBinding();
  expect(load.ok ? load.file : load.reason).toMatch(/build\/Release\/rtsync_inotify\.node$/);
});
