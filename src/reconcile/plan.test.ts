import { describe, expect, test } from "vitest";
import { parseManifest } from "../manifest/parse.ts";
import { resolveManifest } from "../manifest/resolve.ts";
import type { ActualOf, KindName } from "../resources/kinds.ts";
import type { Inventory } from "../state/inventory.ts";
import { buildDesired, type Desired } from "./desired.ts";
import type { Actual } from "./gather.ts";
import { planChanges } from "./plan.ts";

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
    gid: 0,
    rootTransferOwner: { user: "nobody", group: "nogroup" },
    passwords: new Map([["demo", { ok: true, password }]]),
    tools: { rsync: "/usr/bin/rsync" },
  });
}

function inventoryOf(desired: Desired, over: { manifest?: string; owner?: string } = {}): Inventory {
  const daemons = Object.fromEntries(
    desired.resources.daemon.map((d) => [
      d.name,
      {
        manifest: over.manifest ?? desired.manifest,
        ...(over.owner === undefined ? {} : { owner: over.owner }),
        node: desired.node,
        pid: 100,
        hash: d.startupHash,
        startedAt: "2026-01-01T00:00:00Z",
        match: [],
        detail: { startupLines: [...d.startupLines], address: d.address, port: d.port, config: d.config, pidFile: d.pidFile },
      },
    ]),
  );
  return { version: 1, daemons, watchers: {} };
}

// The actual state of a machine on which `desired` was applied.
function converged(desired: Desired): Actual {
  const inventory = inventoryOf(desired);
  return {
    accounts: { users: new Map([["nobody", { uid: 65534, gid: 65534 }]]), groups: new Map([["nogroup", 65534]]) },
    inventory,
    alive: new Map(desired.resources.daemon.map((d) => [d.id, true])),
    marked: [],
    warnings: [],
    isRoot: true,
    resources: {
      sysctl: desired.resources.sysctl.map((s) => ({ readable: true, value: s.value })),
      group: desired.resources.group.map(() => ({ exists: true })),
      account: desired.resources.account.map(() => ({ exists: true })),
      directory: desired.resources.directory.map(() => ({ exists: true, kind: "directory", uid: 65534, gid: 65534 })),
      file: desired.resources.file.map((f) => ({ exists: true, symlink: false, content: f.content.ok ? f.content.text : "", mode: f.mode, uid: 0, gid: 0 })),
      "authorized-keys": [],
      daemon: desired.resources.daemon.map((d) => ({ record: inventory.daemons[d.name], running: true, unrecorded: [], privilegedPort: false })),
      watcher: [],
    },
  } as Actual;
}

// `actual` with the actual state of one resource replaced.
function withActual<K extends KindName>(desired: Desired, actual: Actual, kind: K, id: string, value: ActualOf<K>): Actual {
  const i = desired.resources[kind].findIndex((r) => r.id === id);
  if (i < 0) throw new Error(`no ${id}`);
  const list = [...actual.resources[kind]];
  list[i] = value;
  return { ...actual, resources: { ...actual.resources, [kind]: list } };
}

const CONF = "file:/state/daemons/d1/rsyncd.conf";
const SECRETS = "file:/state/daemons/d1/rsyncd.secrets";

describe("planChanges", () => {
  test("a converged machine gives an empty plan", () => {
    const d = desiredOf();
    const plan = planChanges(d, converged(d));
    expect(plan.changes).toEqual([]);
    expect(plan.unchanged).toHaveLength(5);
  });

  test("a fresh machine: everything is created, in dependency order", () => {
    const d = desiredOf();
    const a = converged(d);
    const fresh: Actual = {
      ...a,
      inventory: { version: 1, daemons: {}, watchers: {} },
      alive: new Map(),
      resources: {
        ...a.resources,
        sysctl: [{ readable: true, value: 8192 }],
        directory: [{ exists: false }],
        file: d.resources.file.map(() => ({ exists: false })),
        daemon: [{ running: false, unrecorded: [], privilegedPort: false }],
      },
    };
    const plan = planChanges(d, fresh);
    expect(plan.changes.map((c) => `${c.op} ${c.id}`)).toEqual([
      "update sysctl:fs.inotify.max_user_watches",
      "create directory:/srv/data",
      `create ${SECRETS}`,
      `create ${CONF}`,
      "create daemon:d1",
    ]);
    expect(plan.changes[0]?.title).toBe("sysctl fs.inotify.max_user_watches: 8192 -> 500000");
    expect(plan.changes.at(-1)?.dependsOn).toEqual([SECRETS, CONF, "directory:/srv/data"]);
  });

  test("a sysctl above the minimum is never lowered", () => {
    const d = desiredOf();
    const a = withActual(d, converged(d), "sysctl", "sysctl:fs.inotify.max_user_watches", { readable: true, value: 9_000_000 });
    expect(planChanges(d, a).changes).toEqual([]);
  });

  test("a hand edit of rsyncd.conf is a content change with a unified diff", () => {
    const d = desiredOf();
    const conf = d.resources.file.find((f) => f.id === CONF);
    if (!conf?.content.ok) throw new Error("no conf");
    const a = withActual(d, converged(d), "file", CONF, { exists: true, symlink: false, content: `${conf.content.text}# hand edit\n`, mode: 0o644, uid: 0, gid: 0 });
    const [change, ...rest] = planChanges(d, a).changes;
    expect(rest).toEqual([]);
    expect(change).toMatchObject({ op: "update", title: "file /state/daemons/d1/rsyncd.conf: content (rsyncd.conf of daemon d1)" });
    expect(change?.details.filter((l) => /^[-+@]/.test(l))).toEqual(["--- /state/daemons/d1/rsyncd.conf", "+++ /state/daemons/d1/rsyncd.conf", "@@ -11,4 +11,3 @@", "-# hand edit"]);
  });

  test("a symbolic link where a file goes is never written through", () => {
    const d = desiredOf();
    const a = withActual(d, converged(d), "file", SECRETS, { exists: true, symlink: true });
    expect(planChanges(d, a).changes[0]).toMatchObject({
      id: SECRETS,
      blocked: "/state/daemons/d1/rsyncd.secrets is a symbolic link; rtsync does not write through links: remove it, or choose another path",
    });
  });

  test("rsyncd.conf waits for the secrets file it names", () => {
    const conf = desiredOf().resources.file.find((f) => f.id === CONF);
    expect(conf?.dependsOn).toEqual([SECRETS]);
  });

  test("a secrets file change names users, never passwords", () => {
    const d = desiredOf(YAML, "pw-NEW");
    const a = withActual(d, converged(desiredOf(YAML, "old-pw")), "file", SECRETS, { exists: true, symlink: false, content: "demo:old-pw\n", mode: 0o644, uid: 0, gid: 0 });
    const plan = planChanges(d, a);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({
      title: "file /state/daemons/d1/rsyncd.secrets: content, mode 0644 -> 0600 (secrets file of daemon d1)",
      details: ["  passwords changed: demo (********)"],
      secrets: { added: [], removed: [], changed: ["demo"] },
    });
    const shown = plan.changes.map((c) => ({ ...c, want: undefined }));
    expect(JSON.stringify(shown)).not.toMatch(/old-pw|pw-NEW/);
  });

  test("a module change needs no restart; a port change does", () => {
    const a = converged(desiredOf());
    const moduleChange = desiredOf(YAML.replace("readOnly: false,", "readOnly: false, comment: hi,"));
    expect(planChanges(moduleChange, a).changes.map((c) => c.id)).toEqual([CONF]);
    const portChange = desiredOf(YAML.replace("18730", "18731"));
    const changes = planChanges(portChange, a).changes;
    expect(changes.map((c) => `${c.op} ${c.id}`)).toEqual([`update ${CONF}`, "update daemon:d1"]);
    expect(changes[1]?.details).toEqual(["  - port = 18730", "  + port = 18731"]);
  });

  test("a dead daemon is started again; one that left the manifest is stopped", () => {
    const d = desiredOf();
    const a = converged(d);
    const dead = withActual(d, a, "daemon", "daemon:d1", { record: a.inventory.daemons["d1"], running: false, unrecorded: [], privilegedPort: false } as ActualOf<"daemon">);
    expect(planChanges(d, dead).changes.map((c) => c.title)).toEqual(["daemon d1: start rsync --daemon on 127.0.0.1:18730 (pid 100 is not running)"]);
    const gone = desiredOf("version: 1\nstateDir: /state\n");
    expect(planChanges(gone, a).changes.map((c) => `${c.op} ${c.id}`)).toEqual(["delete daemon:d1"]);
  });

  test("another manifest's daemon in the same stateDir is neither pruned nor taken over", () => {
    const d = desiredOf();
    const a = converged(d);
    const inventory = inventoryOf(d, { manifest: "/other.yaml", owner: "other" });
    const other = withActual(d, { ...a, inventory }, "daemon", "daemon:d1", { record: inventory.daemons["d1"], running: true, unrecorded: [], privilegedPort: false } as ActualOf<"daemon">);
    expect(planChanges(desiredOf("version: 1\nstateDir: /state\n"), other).changes).toEqual([]);
    expect(planChanges(d, other).changes[0]).toMatchObject({ id: "daemon:d1", blocked: 'the name is already used in this stateDir by manifest "other" (applied from /other.yaml)' });
  });

  test("a port held by a program rtsync did not start blocks the start; a privileged port blocks a non-root start", () => {
    const d = desiredOf();
    const a = converged(d);
    const held = withActual(d, { ...a, inventory: { version: 1, daemons: {}, watchers: {} } }, "daemon", "daemon:d1", { running: false, unrecorded: [], privilegedPort: false, portHolder: "pid 42 (nc -l)" });
    expect(planChanges(d, held).changes[0]).toMatchObject({
      id: "daemon:d1",
      blocked: "127.0.0.1:18730 is in use by pid 42 (nc -l), which rtsync did not start; stop it or choose another port",
    });
    const privileged = withActual(d, a, "daemon", "daemon:d1", { running: false, unrecorded: [], privilegedPort: true });
    expect(planChanges(d, privileged).changes[0]?.blocked).toBe("port 18730 is privileged: only root may listen on it; run apply as root, or choose a port of 1024 or above");
  });

  test("a port change onto a port held by another program blocks the restart", () => {
    const portChange = desiredOf(YAML.replace("18730", "18731"));
    const a = converged(desiredOf());
    const held = withActual(portChange, a, "daemon", "daemon:d1", { record: a.inventory.daemons["d1"], running: true, unrecorded: [], privilegedPort: false, portHolder: "pid 42 (nc -l)" } as ActualOf<"daemon">);
    expect(planChanges(portChange, held).changes[1]).toMatchObject({
      id: "daemon:d1",
      op: "update",
      blocked: "127.0.0.1:18731 is in use by pid 42 (nc -l), which rtsync did not start; stop it or choose another port",
    });
  });

  test("not root: raising a sysctl is blocked with the command to run", () => {
    const d = desiredOf();
    const a = withActual(d, { ...converged(d), isRoot: false }, "sysctl", "sysctl:fs.inotify.max_user_watches", { readable: true, value: 8192 });
    expect(planChanges(d, a).changes[0]?.blocked).toBe("raising fs.inotify.max_user_watches needs root: run `sudo sysctl -w fs.inotify.max_user_watches=500000`, or apply as root");
  });
});
