import { describe, expect, test } from "vitest";
import { parseManifest } from "../../manifest/parse.ts";
import { resolveManifest } from "../../manifest/resolve.ts";
import { renderRsyncdConf, startupLines } from "./rsyncd-conf.ts";
import { compareSecrets, parseSecretsFile, renderSecretsFile } from "./secrets-file.ts";
import { renderSysctlConf } from "../sysctl/sysctl-conf.ts";

function daemonOf(yaml: string) {
  const r = parseManifest(yaml, "m.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const m = resolveManifest(r.manifest, { manifestFile: "/etc/rtsync/rtsync.yaml", node: "inotify-slave", uid: 0, env: {}, homeDir: "/root" });
  const d = m.daemons[0];
  if (!d) throw new Error("no daemon");
  return d;
}

const CLASSIC = `version: 1
users:
  rsync_backup: { password: { env: P } }
daemons:
  backup-server:
    config: /etc/rsyncd.conf
    uid: rsync
    gid: rsync
    useChroot: false
    maxConnections: 200
    timeout: 300
    pidFile: /var/run/rsyncd.pid
    lockFile: /var/run/rsync.lock
    logFile: /var/log/rsyncd.log
    secretsFile: /etc/rsync.password
    options: { "motd file": /etc/rsyncd.motd }
    modules:
      zeta: { path: /z, list: true }
      backup:
        path: /backup
        ignoreErrors: true
        readOnly: false
        list: false
        hostsAllow: [192.168.1.0/24, 10.0.0.1]
        authUsers: [rsync_backup]
        options: { "dont compress": "*.gz *.zip" }
`;

describe("renderRsyncdConf", () => {
  test("the classic recipe's rsyncd.conf, global section then modules by name", () => {
    expect(renderRsyncdConf(daemonOf(CLASSIC), 'manifest "backup"')).toMatchInlineSnapshot(`
      "# Managed by rtsync: daemon "backup-server" of manifest "backup".
      # Do not edit: \`rtsync apply\` puts this file back as the manifest says.
      address = 0.0.0.0
      port = 873
      pid file = /var/run/rsyncd.pid
      lock file = /var/run/rsync.lock
      log file = /var/log/rsyncd.log
      uid = rsync
      gid = rsync
      use chroot = no
      max connections = 200
      timeout = 300
      secrets file = /etc/rsync.password
      motd file = /etc/rsyncd.motd

      [backup]
      path = /backup
      read only = no
      list = no
      ignore errors = yes
      hosts allow = 192.168.1.0/24 10.0.0.1
      auth users = rsync_backup
      dont compress = *.gz *.zip

      [zeta]
      path = /z
      list = yes
      "
    `);
  });

  test("is byte-stable: the same manifest renders the same bytes", () => {
    expect(renderRsyncdConf(daemonOf(CLASSIC), "/m")).toBe(renderRsyncdConf(daemonOf(CLASSIC), "/m"));
  });

  test("start-up lines are the ones rsyncd reads only when it starts", () => {
    expect(startupLines(daemonOf(CLASSIC))).toEqual(["address = 0.0.0.0", "port = 873", "pid file = /var/run/rsyncd.pid"]);
    const withSock = daemonOf(`version: 1\ndaemons:\n  d:\n    options: { "socket options": SO_KEEPALIVE, "motd file": /m }\n`);
    expect(startupLines(withSock)).toContain("socket options = SO_KEEPALIVE");
    expect(startupLines(withSock).join("\n")).not.toContain("motd");
  });
});

describe("secrets file", () => {
  test("renders sorted user:password lines and compares by user name only", () => {
    const text = renderSecretsFile(new Map([["b", "pw-b"], ["a", "pw-a"]]));
    expect(text).toBe("a:pw-a\nb:pw-b\n");
    const delta = compareSecrets(parseSecretsFile("a:old\nc:pw-c\n"), parseSecretsFile(text));
    expect(delta).toEqual({ added: ["b"], removed: ["c"], changed: ["a"] });
    expect(JSON.stringify(delta)).not.toContain("pw-");
  });

  test("a password may contain a colon", () => {
    expect(parseSecretsFile("u:a:b\n").get("u")).toBe("a:b");
  });
});

test("sysctl.d file", () => {
  expect(
    renderSysctlConf(
      [
        { key: "fs.inotify.max_user_watches", value: 30000000 },
        { key: "fs.inotify.max_queued_events", value: 327679 },
      ],
      'manifest "backup"',
    ),
  ).toBe('# Managed by rtsync for manifest "backup": inotify limits (minimums).\nfs.inotify.max_queued_events = 327679\nfs.inotify.max_user_watches = 30000000\n');
});
