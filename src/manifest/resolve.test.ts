import { describe, expect, test } from "vitest";
import { parseManifest } from "./parse.ts";
import { defaultStateDir, durationMs, resolveManifest, type ResolveContext } from "./resolve.ts";

const ctx: ResolveContext = { manifestFile: "/etc/rtsync/rtsync.yaml", node: "inotify-master", uid: 0, env: {}, homeDir: "/root" };

function resolved(yaml: string, over: Partial<ResolveContext> = {}) {
  const r = parseManifest(yaml, "m.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return resolveManifest(r.manifest, { ...ctx, ...over });
}

describe("resolveManifest", () => {
  test("stateDir default: /var/lib/rtsync as root, XDG state dir otherwise", () => {
    expect(defaultStateDir({ uid: 0, env: {}, homeDir: "/root" })).toBe("/var/lib/rtsync");
    expect(defaultStateDir({ uid: 1000, env: {}, homeDir: "/home/a" })).toBe("/home/a/.local/state/rtsync");
    expect(defaultStateDir({ uid: 1000, env: { XDG_STATE_HOME: "/x/state" }, homeDir: "/home/a" })).toBe("/x/state/rtsync");
  });

  test("durations", () => {
    expect([durationMs(0), durationMs(250), durationMs("200ms"), durationMs("2s"), durationMs("1m")]).toEqual([0, 250, 200, 2000, 60000]);
  });

  test("keeps only this node's daemons and watches, with defaults under stateDir", () => {
    const m = resolved(
      "version: 1\nusers:\n  u: { password: { env: P } }\ndaemons:\n  slave:\n    nodes: [inotify-slave]\n  here:\n    port: 8873\n    modules:\n      m: { path: /m, authUsers: [u] }\nwatches:\n  push:\n    nodes: [inotify-master]\n    source: /s\n    target: u@10.0.0.1::m\n    delay: 2s\n",
    );
    expect(m.daemons.map((d) => d.name)).toEqual(["here"]);
    expect(m.daemons[0]).toMatchObject({
      config: "/var/lib/rtsync/daemons/here/rsyncd.conf",
      pidFile: "/var/lib/rtsync/daemons/here/rsyncd.pid",
      secretsFile: "/var/lib/rtsync/daemons/here/rsyncd.secrets",
      modules: [{ name: "m", path: "/m" }],
    });
    expect(m.watches[0]).toMatchObject({
      name: "push",
      delayMs: 2000,
      targets: [{ key: "rsync://10.0.0.1:873/m", url: "rsync://u@10.0.0.1/m", passwordFile: "/var/lib/rtsync/watches/push/password", rsyncArgs: [] }],
    });
    expect(resolved("version: 1\ndaemons:\n  slave:\n    nodes: [inotify-slave]\n", { node: "inotify-slave" }).daemons).toHaveLength(1);
  });

  test("settle: how long a file written but not closed waits before it is sent; 2 s unless given", () => {
    const yaml = (extra: string) => `version: 1\nwatches:\n  w:\n    source: /s\n    target: /d\n${extra}`;
    expect(resolved(yaml("")).watches[0]?.settleMs).toBe(2000);
    expect(resolved(yaml("    settle: 500ms\n")).watches[0]?.settleMs).toBe(500);
    expect(() => resolved(yaml("    settle: soon\n"))).toThrow(/settle/);
  });

  test("sysctls apply where a watch runs (or everywhere when no watch is declared)", () => {
    const yaml = "version: 1\nsysctl:\n  fs.inotify.max_user_watches: 100000\nsysctlFile: /etc/sysctl.d/90-rtsync.conf\nwatches:\n  w: { nodes: [master], source: /s, target: /d }\n";
    expect(resolved(yaml, { node: "master" })).toMatchObject({ sysctl: [{ key: "fs.inotify.max_user_watches", value: 100000 }], sysctlFile: "/etc/sysctl.d/90-rtsync.conf" });
    const slave = resolved(yaml, { node: "slave" });
    expect(slave.sysctl).toEqual([]);
    expect(slave.sysctlFile).toBeUndefined();
    expect(resolved("version: 1\nsysctl:\n  fs.inotify.max_user_watches: 100000\n", { node: "any" }).sysctl).toHaveLength(1);
  });

  test("targets: one lane each, with the watch's settings unless the target replaces them; a password file per user", () => {
    const m = resolved(`version: 1
users:
  a: { password: { env: A } }
  b: { password: { env: B } }
watches:
  push:
    source: /s
    rsyncArgs: ["--compress"]
    maxDelete: 100
    fullSync: { schedule: "0 3 * * *" }
    targets:
      - rsync://a@Backup.example:873/m/sub/
      - { url: "b@dr::m", rsyncArgs: ["--bwlimit=1m"], fullSync: { schedule: "*/5 * * * *" } }
      - { url: /srv/copy/, maxDelete: 5, rsyncArgs: [] }
`);
    expect(m.watches[0]?.targets).toEqual([
      { key: "rsync://backup.example:873/m/sub", target: expect.objectContaining({ kind: "daemon", user: "a" }), url: "rsync://a@Backup.example:873/m/sub", passwordFile: "/var/lib/rtsync/watches/push/password-a", rsyncArgs: ["--compress"], fullSyncSchedule: "0 3 * * *", maxDelete: 100 },
      { key: "rsync://dr:873/m", target: expect.objectContaining({ kind: "daemon", user: "b" }), url: "rsync://b@dr/m", passwordFile: "/var/lib/rtsync/watches/push/password-b", rsyncArgs: ["--bwlimit=1m"], fullSyncSchedule: "*/5 * * * *", maxDelete: 100 },
      { key: "/srv/copy", target: { kind: "local", path: "/srv/copy" }, url: "/srv/copy", rsyncArgs: [], fullSyncSchedule: "0 3 * * *", maxDelete: 5 },
    ]);
  });

  test("no secrets file when no module has authUsers", () => {
    const m = resolved("version: 1\ndaemons:\n  d:\n    modules:\n      m: { path: /m }\n");
    expect(m.daemons[0]?.secretsFile).toBeUndefined();
  });
});
