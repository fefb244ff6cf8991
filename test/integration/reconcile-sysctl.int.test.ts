import { chown, mkdir, readFile, writeFile } from "node:fs/promises";
import { execa } from "execa";
import { expect, onTestFinished, test } from "vitest";
import { runAsNobody, useFixture, type ManifestFixture } from "../helpers/manifest-fixture.ts";

// inotify limits: raised to the manifest's minimum and persisted in sysctlFile, never lowered; not
// root, or a read-only /proc: apply exits 1 with one sentence saying how to set it by hand, and
// diff still shows it. The real /proc/sys value is always put back afterwards.

const KEY = "fs.inotify.max_user_watches";
const PROC = "/proc/sys/fs/inotify/max_user_watches";

const readLimit = async (path = PROC) => Number.parseInt(await readFile(path, "utf8"), 10);

function manifest(f: ManifestFixture, value: number, sysctlFile?: string): string {
  return `version: 1
stateDir: ${f.stateDir}
sysctl:
  ${KEY}: ${value}
${sysctlFile ? `sysctlFile: ${sysctlFile}\n` : ""}`;
}

const changeLines = (out: string) => out.split("\n").filter((l) => /^[+~!-] /.test(l));

test("as root: diff shows the raise, apply raises it and writes sysctlFile, a lower value never lowers it", async () => {
  const original = await readLimit();
  onTestFinished(() => writeFile(PROC, `${original}\n`));
  const f = await useFixture();
  const sysctlFile = f.path("sysctl.d", "90-rtsync.conf");
  const want = original + 1;
  const file = await f.writeManifest(manifest(f, want, sysctlFile));

  const d = await f.run(["diff", file]);
  expect(d.exitCode).toBe(2);
  expect(changeLines(d.stdout)).toEqual([`~ sysctl ${KEY}: ${original} -> ${want}`, `+ file ${sysctlFile}: create, mode 0644 (persisted inotify limits)`]);

  const a = await f.run(["apply", file]);
  expect(a.exitCode, a.all).toBe(0);
  expect(changeLines(a.stdout)).toEqual([`~ sysctl ${KEY}: ${original} -> ${want}: done`, `+ file ${sysctlFile}: create, mode 0644 (persisted inotify limits): done`]);
  expect(await readLimit()).toBe(want);
  expect(await readFile(sysctlFile, "utf8")).toBe(`# Managed by rtsync for the manifest of stateDir ${f.stateDir}: inotify limits (minimums).\n${KEY} = ${want}\n`);

  // A lower minimum: the file follows the manifest, the kernel keeps the higher value.
  await f.writeManifest(manifest(f, Math.max(1, original - 1), sysctlFile));
  const lower = await f.run(["diff", file]);
  expect(changeLines(lower.stdout)).toEqual([`~ file ${sysctlFile}: content (persisted inotify limits)`]);
  expect((await f.run(["apply", file])).exitCode).toBe(0);
  expect(await readLimit()).toBe(want);
});

test("not root: apply exits 1 saying it needs root and how to set it; diff still shows it", async () => {
  const f = await useFixture();
  // nobody's own stateDir (a world-writable one is refused, issue 19).
  await mkdir(f.stateDir, { mode: 0o755 });
  await chown(f.stateDir, 65534, 65534);
  const current = await readLimit();
  const want = current + 1;
  const file = await f.writeManifest(manifest(f, want));
  const why = `raising ${KEY} needs root: run \`sudo sysctl -w ${KEY}=${want}\`, or apply as root`;

  const d = await runAsNobody(["diff", file]);
  expect(d.exitCode).toBe(1);
  expect(d.stdout).toContain(`~ sysctl ${KEY}: ${current} -> ${want}\n    ! cannot be applied: ${why}\n`);
  const a = await runAsNobody(["apply", file]);
  expect(a.exitCode).toBe(1);
  expect(changeLines(a.stdout)).toEqual([`! sysctl ${KEY}: ${current} -> ${want}: failed: ${why}`]);
  expect(a.stdout).toContain("0 changed, 0 unchanged, 1 failed");
  expect(await readLimit()).toBe(current);
});

test("a read-only /proc/sys (a container): apply exits 1 saying what could not be set and how", async (ctx) => {
  const f = await useFixture();
  const procSys = f.path("procsys");
  const limit = `${procSys}/fs/inotify/max_user_watches`;
  await mkdir(`${procSys}/fs/inotify`, { recursive: true });
  await writeFile(limit, "8192\n");
  // A read-only bind mount of the directory on itself stands for a read-only /proc.
  const bind = await execa("mount", ["--bind", procSys, procSys], { reject: false });
  if (bind.exitCode !== 0) ctx.skip(`mount --bind is not allowed here: ${bind.stderr}`);
  try {
    const ro = await execa("mount", ["-o", "remount,ro,bind", procSys], { reject: false });
    if (ro.exitCode !== 0) ctx.skip(`a read-only remount is not allowed here: ${ro.stderr}`);
    const file = await f.writeManifest(manifest(f, 9000));
    const env = { RTSYNC_PROC_SYS: procSys };
    const d = await f.run(["diff", file], { env });
    expect(d.exitCode).toBe(2);
    expect(changeLines(d.stdout)).toEqual([`~ sysctl ${KEY}: 8192 -> 9000`]);
    const a = await f.run(["apply", file], { env });
    expect(a.exitCode).toBe(1);
    expect(changeLines(a.stdout)).toEqual([
      `! sysctl ${KEY}: 8192 -> 9000: failed: cannot set ${KEY} to 9000: /proc/sys is read-only here (a container?); set it on the host with \`sysctl -w ${KEY}=9000\` (and persist it in /etc/sysctl.d/)`,
    ]);
    expect(await readLimit(limit)).toBe(8192);
  } finally {
    await execa("umount", [procSys]);
  }
});
