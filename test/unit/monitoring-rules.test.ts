import { execa } from "execa";
import { expect, test } from "vitest";

// The alert rules in docs/monitoring/ load in Prometheus (`promtool check rules`) and fire as their
// unit tests say (`promtool test rules`). promtool comes with Debian's `prometheus` package; CI
// installs it, elsewhere the test is skipped with that reason.

const DIR = new URL("../../docs/monitoring/", import.meta.url).pathname;
const promtool = await execa("promtool", ["--version"], { reject: false }).then((r) => r.exitCode === 0, () => false);

test.skipIf(!promtool)("promtool check rules and promtool test rules pass (skipped: no promtool on PATH; apt-get install prometheus)", async () => {
  const check = await execa("promtool", ["check", "rules", "rtsync.rules.yml"], { cwd: DIR, reject: false, all: true });
  expect(check.exitCode, check.all).toBe(0);
  expect(check.all).toMatch(/SUCCESS: \d+ rules found/);
  const unit = await execa("promtool", ["test", "rules", "rtsync.rules.test.yml"], { cwd: DIR, reject: false, all: true });
  expect(unit.exitCode, unit.all).toBe(0);
});
