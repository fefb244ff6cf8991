import { describe, expect, test } from "vitest";
import { parseManifest } from "../manifest/parse.ts";
import { resolveManifest } from "../manifest/resolve.ts";
import { buildDesired } from "./desired.ts";
import { planChanges } from "./plan.ts";
import type { Actual, Desired, FileActual, ProcessActual } from "./types.ts";

// The pure planner against literal actual states: what each kind of drift turns into.

const YAML = `version: 1
stateDir: /state
users:
  demo: { password: { env: P } }
sysctl:
  fs.inotify.max_user_watches: 500000
daemons:
  d1:
    address: 127.0.0.1
    port: 18730
    modules:
      data: { path: /srv/data, readOnly: false, authUsers: [demo] }
`;

function desiredOf(yaml = YAML, password = "pw-SECRET"): Desired {
  const r = parseManifest(yaml, "m.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const m = resolveManifest(r.manifest, { manifestFile: "/m.yaml", node: "n1", uid: 0, env: {}, homeDir: "/root" });
  return buildDesired(m, {
    uid: 0,
    rootTransferOwner: { user: "nobody", group: "nogroup" },
    passwords: new Map([["demo", { ok: true, password }]]),
    rsync: "/usr/bin/rsync",
  });
}

// The actual state of a machine on which `desired` was applied.
function converged(desired: Desired): Actual {
  const files = new Map<string, FileActual>(
    desired.files.map((f) => [f.path, { exists: true, content: f.content.ok ? f.content.text : "", mode: f.mode, uid: 0, gid: 0 }]),
  );
  const daemons = new Map<string, ProcessActual>(
    desired.daemons.map((d) => [d.name, { name: d.name, manifest: desired.manifest, node: desired.node, pid: 100, running: true, hash: d.startupHash, detail: { startupLines: d.startupLines } }]),
  );
  return {
    sysctls: new Map(desired.sysctls.map((s) => [s.key, { readable: true, value: s.value }])),
    users: new Map([["nobody", { uid: 65534, gid: 65534 }]]),
    groups: new Map([["nogroup", 65534]]),
    paths: new Map(desired.directories.map((d) => [d.path, { exists: true, isDir: true, mode: 0o755, uid: 65534, gid: 65534 }])),
    files,
    daemons,
    watchers: new Map(),
    portConflicts: new Map(),
    isRoot: true,
  };
}

describe("planChanges", () => {
  test("a converged machine gives an empty plan", () => {
    const d = desiredOf();
    const plan = planChanges(d, converged(d));
    expect(plan.changes).toEqual([]);
    expect(plan.unchanged).toHaveLength(5);
  });

  test("a fresh machine: everything is created, in dependency order", () => {
    const d = desiredOf();
    const fresh: Actual = { ...converged(d), sysctls: new Map([["fs.inotify.max_user_watches", { readable: true, value: 8192 }]]), paths: new Map(), files: new Map(), daemons: new Map() };
    const plan = planChanges(d, fresh);
    expect(plan.changes.map((c) => `${c.op} ${c.id}`)).toEqual([
      "update sysctl:fs.inotify.max_user_watches",
      "create directory:/srv/data",
      "create file:/state/daemons/d1/rsyncd.secrets",
      "create file:/state/daemons/d1/rsyncd.conf",
      "create daemon:d1",
    ]);
    expect(plan.changes[0]?.title).toBe("sysctl fs.inotify.max_user_watches: 8192 -> 500000");
    expect(plan.changes.at(-1)?.dependsOn).toEqual(["file:/state/daemons/d1/rsyncd.secrets", "file:/state/daemons/d1/rsyncd.conf", "directory:/srv/data"]);
  });

  test("a sysctl above the minimum is never lowered", () => {
    const d = desiredOf();
    const a = { ...converged(d), sysctls: new Map([["fs.inotify.max_user_watches", { readable: true as const, value: 9_000_000 }]]) };
    expect(planChanges(d, a).changes).toEqual([]);
  });

  test("a hand edit of rsyncd.conf is a content change with a unified diff", () => {
    const d = desiredOf();
    const a = converged(d);
    const conf = d.files.find((f) => f.path.endsWith("rsyncd.conf"));
    if (!conf?.content.ok) throw new Error("no conf");
    (a.files as Map<string, FileActual>).set(conf.path, { exists: true, content: `${conf.content.text}# hand edit\n`, mode: 0o644, uid: 0, gid: 0 });
    const [change, ...rest] = planChanges(d, a).changes;
    expect(rest).toEqual([]);
    expect(change).toMatchObject({ op: "update", title: "file /state/daemons/d1/rsyncd.conf: content (rsyncd.conf of daemon d1)" });
    expect(change?.details.filter((l) => /^[-+@]/.test(l))).toEqual([
      "--- /state/daemons/d1/rsyncd.conf",
      "+++ /state/daemons/d1/rsyncd.conf",
      "@@ -11,4 +11,3 @@",
      "-# hand edit",
    ]);
  });

  test("rsyncd.conf waits for the secrets file it names", () => {
    const conf = desiredOf().files.find((f) => f.path.endsWith("rsyncd.conf"));
    expect(conf?.dependsOn).toEqual(["file:/state/daemons/d1/rsyncd.secrets"]);
  });

  test("a secrets file change names users, never passwords", () => {
    const before = desiredOf(YAML, "old-pw");
    const d = desiredOf(YAML, "pw-NEW");
    const a = converged(before);
    const secrets = d.files.find((f) => f.secret === "secrets");
    (a.files as Map<string, FileActual>).set(secrets?.path ?? "", { exists: true, content: "demo:old-pw\n", mode: 0o644, uid: 0, gid: 0 });
    const plan = planChanges(d, a);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({
      title: "file /state/daemons/d1/rsyncd.secrets: content, mode 0644 -> 0600 (secrets file of daemon d1)",
      details: ["  passwords changed: demo (********)"],
      secrets: { added: [], removed: [], changed: ["demo"] },
    });
    expect(JSON.stringify(plan)).not.toMatch(/old-pw|pw-NEW/);
  });

  test("a module change needs no restart; a port change does", () => {
    const d = desiredOf();
    const a = converged(d);
    const moduleChange = desiredOf(YAML.replace("readOnly: false,", "readOnly: false, comment: hi,"));
    expect(planChanges(moduleChange, a).changes.map((c) => c.id)).toEqual(["file:/state/daemons/d1/rsyncd.conf"]);
    const portChange = desiredOf(YAML.replace("18730", "18731"));
    const changes = planChanges(portChange, a).changes;
    expect(changes.map((c) => `${c.op} ${c.id}`)).toEqual(["update file:/state/daemons/d1/rsyncd.conf", "update daemon:d1"]);
    expect(changes[1]?.details).toEqual(["  - port = 18730", "  + port = 18731"]);
  });

  test("a dead daemon is started again; one that left the manifest is stopped", () => {
    const d = desiredOf();
    const a = converged(d);
    const dead = { ...a, daemons: new Map([["d1", { ...(a.daemons.get("d1") as ProcessActual), running: false }]]) };
    expect(planChanges(d, dead).changes.map((c) => c.title)).toEqual(["daemon d1: start rsync --daemon on 127.0.0.1:18730 (pid 100 is not running)"]);
    const gone = desiredOf("version: 1\nstateDir: /state\n");
    expect(planChanges(gone, a).changes.map((c) => `${c.op} ${c.id}`)).toEqual(["delete daemon:d1"]);
  });

  test("another manifest's daemon in the same stateDir is neither pruned nor taken over", () => {
    const d = desiredOf();
    const a = converged(d);
    const other = { ...a, daemons: new Map([["d1", { ...(a.daemons.get("d1") as ProcessActual), manifest: "/other.yaml" }]]) };
    expect(planChanges(desiredOf("version: 1\nstateDir: /state\n"), other).changes).toEqual([]);
    expect(planChanges(d, other).changes[0]).toMatchObject({ id: "daemon:d1", blocked: "the name is already used in this stateDir by /other.yaml" });
  });

  test("a port held by a program rtsync did not start blocks the start", () => {
    const d = desiredOf();
    const a = { ...converged(d), daemons: new Map(), portConflicts: new Map([["127.0.0.1:18730", "pid 42 (nc -l)"]]) };
    expect(planChanges(d, a).changes[0]).toMatchObject({
      id: "daemon:d1",
      blocked: "127.0.0.1:18730 is in use by pid 42 (nc -l), which rtsync did not start; stop it or choose another port",
    });
  });

  test("a port change onto a port held by another program blocks the restart", () => {
    const portChange = desiredOf(YAML.replace("18730", "18731"));
    const a = { ...converged(desiredOf()), portConflicts: new Map([["127.0.0.1:18731", "pid 42 (nc -l)"]]) };
    expect(planChanges(portChange, a).changes[1]).toMatchObject({
      id: "daemon:d1",
      op: "update",
      blocked: "127.0.0.1:18731 is in use by pid 42 (nc -l), which rtsync did not start; stop it or choose another port",
    });
  });

  test("not root: raising a sysctl is blocked with the command to run", () => {
    const d = desiredOf();
    const a = { ...converged(d), isRoot: false, sysctls: new Map([["fs.inotify.max_user_watches", { readable: true as const, value: 8192 }]]) };
    expect(planChanges(d, a).changes[0]?.blocked).toBe(
      "raising fs.inotify.max_user_watches needs root: run `sudo sysctl -w fs.inotify.max_user_watches=500000`, or apply as root",
    );
  });
});
