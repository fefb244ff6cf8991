import { execFileSync, spawn } from "node:child_process";
import { arch } from "node:os";
import { chown, mkdir, stat, symlink, writeFile } from "node:fs/promises";
import { expect, onTestFinished, test } from "vitest";
import { main } from "../../src/cli/main.ts";
import { writerOutput } from "../../src/cli/output.ts";
import { freePort, loopbackManifest, useFixture } from "../helpers/manifest-fixture.ts";

// The chown redirected through a parent another user owns: module `path: T/u/a/victim` with `u`
// owned by nobody (65534), who loops renameat2(a, b, RENAME_EXCHANGE) with `b -> T/target`. Before,
// the 25th apply chowned root's `T/target/victim` to nobody (the check looked for links only, and
// `mkdir -p` plus an accounts read ran between the check and the open). Now every directory is
// walked from "/" by descriptor, and a parent another user owns is refused: 0 foreign files
// touched in 200 applies. The applies run in this process (the CLI's own main(), as `rtsync apply`
// runs it), so 200 of them cost seconds, not a Node start each.

const RENAMEAT2 = arch() === "arm64" ? 276 : 316; // the syscall number (x86_64: 316)

test("a parent another user owns, exchanged for a link in a loop: 200 applies, nothing outside touched", { timeout: 300_000 }, async () => {
  const f = await useFixture();
  const t = f.path("t");
  await mkdir(`${t}/u/a`, { recursive: true });
  await mkdir(`${t}/target/victim`, { recursive: true });
  await writeFile(`${t}/target/victim/precious`, "root's\n");
  await symlink(`${t}/target`, `${t}/u/b`);
  await chown(`${t}/u`, 65534, 65534);
  await chown(`${t}/u/a`, 65534, 65534);
  execFileSync("chown", ["-h", "65534:65534", `${t}/u/b`]);
  // nobody's loop: exchange a and b as fast as it can
  const loop = spawn(
    "setpriv",
    ["--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-e", `chdir "${t}/u" or die; my ($x, $y) = ("a", "b"); while (1) { syscall(${RENAMEAT2}, -100, $x, -100, $y, 2) }`],
    { stdio: "ignore" },
  );
  onTestFinished(() => {
    loop.kill("SIGKILL");
  });
  const port = await freePort();
  const file = await f.writeManifest(
    loopbackManifest(f, { port, daemonExtra: "    uid: nobody\n    gid: nogroup\n", modulesExtra: `      victim: { path: ${t}/u/a/victim, readOnly: false }\n` }),
  );
  const outcomes = new Map<string, number>();
  const env = { ...process.env };
  onTestFinished(() => {
    process.env = env;
  });
  Object.assign(process.env, f.env);
  await f.adopt(file); // `rtsync down` at the end, whatever was started
  for (let i = 0; i < 200; i++) {
    const lines: string[] = [];
    const code = await main(["apply", file], writerOutput((t) => lines.push(t), (t) => lines.push(t), false, false));
    const line = lines.join("").split("\n").find((l) => l.includes("victim:")) ?? `exit ${code}`;
    const key = line.replace(/\d+/g, "N");
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const s = await stat(`${t}/target/victim`);
    expect({ uid: s.uid, gid: s.gid, apply: i + 1 }).toEqual({ uid: 0, gid: 0, apply: i + 1 });
  }
  expect(loop.exitCode).toBeNull(); // the race ran the whole time
  // Each apply refused the module directory, naming why.
  expect([...outcomes.keys()].every((k) => k.includes(`${t}/u is owned by uid N`.replace(/\d+/g, "N")))).toBe(true);
});
