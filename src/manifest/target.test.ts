import { describe, expect, test } from "vitest";
import { parseTarget, renderTarget, targetKey } from "./target.ts";

describe("parseTarget", () => {
  test.each([
    ["rsync://rsync_backup@192.168.1.160:873/backup", { kind: "daemon", user: "rsync_backup", host: "192.168.1.160", port: 873, module: "backup", path: "" }],
    ["rsync://127.0.0.1/m/sub/dir/", { kind: "daemon", host: "127.0.0.1", module: "m", path: "/sub/dir" }],
    ["rsync://u@[::1]:8730/m", { kind: "daemon", user: "u", host: "[::1]", port: 8730, module: "m", path: "" }],
    ["rsync_backup@192.168.1.160::backup", { kind: "daemon", user: "rsync_backup", host: "192.168.1.160", module: "backup", path: "" }],
    ["host.example.com::backup/a/b", { kind: "daemon", host: "host.example.com", module: "backup", path: "/a/b" }],
    ["/srv/replica/", { kind: "local", path: "/srv/replica" }],
    ["ssh://rtsync-www@203.0.113.5/srv/replica/www", { kind: "ssh", user: "rtsync-www", host: "203.0.113.5", path: "/srv/replica/www" }],
    ["ssh://u@Host.Example:2222/srv/r/", { kind: "ssh", user: "u", host: "Host.Example", port: 2222, path: "/srv/r" }],
  ])("%s", (text, target) => {
    expect(parseTarget(text)).toEqual({ ok: true, target });
  });

  test("both daemon spellings render as the rsync:// URL rsync is given", () => {
    const a = parseTarget("u@h::m/x");
    expect(a.ok && renderTarget(a.target)).toBe("rsync://u@h/m/x");
    const b = parseTarget("rsync://u@h:874/m");
    expect(b.ok && renderTarget(b.target)).toBe("rsync://u@h:874/m");
  });

  test("an ssh target renders as rsync's remote-shell destination; its key names host and port, not the user", () => {
    const t = parseTarget("ssh://u@Host:2222/srv/r");
    expect(t.ok && renderTarget(t.target)).toBe("u@Host:/srv/r");
    expect(t.ok && targetKey(t.target)).toBe("ssh://host:2222/srv/r");
    const d = parseTarget("ssh://u@h/srv/r");
    expect(d.ok && targetKey(d.target)).toBe("ssh://h:22/srv/r");
  });

  test.each([
    ["ssh://h/srv/r", "names no user"],
    ["ssh://u@h", "names no directory on the host"],
    ["ssh://u@h/", "names no directory on the host"],
    ["ssh://u@h/srv/../etc", "has an empty, '.' or '..' path segment"],
    ["ssh://u@h/srv/a b", "has a path with characters the remote shell would interpret"],
    ["ssh://u@h/srv/$(reboot)", "has a path with characters the remote shell would interpret"],
    ["ssh://u@h:0/srv/r", "target port 0 is not between 1 and 65535"],
  ])("rejects ssh target %j: %s", (text, message) => {
    const r = parseTarget(text);
    expect(r.ok ? "" : r.message).toContain(message);
  });

  test.each(["host:/path", "rsync://h", "rsync://h/", "h::", "rel/dir", "rsync://h/m/./x", "/a/../b", "rsync://h/m\n[x]"])("rejects %j", (text) => {
    expect(parseTarget(text).ok).toBe(false);
  });
});

describe("a password written into a target", () => {
  test("is refused, and the message shows it as ***", () => {
    for (const text of ["rsync://u1:Hunter2@127.0.0.1:873/m", "u1:Hunter2@127.0.0.1::m", "rsync://u1:Hunter2@bad host/m"]) {
      const r = parseTarget(text);
      expect(r.ok).toBe(false);
      expect(r.ok ? "" : r.message).not.toContain("Hunter2");
      expect(r.ok ? "" : r.message).toContain("u1:***@");
    }
  });
  test("a user name alone and a port are fine", () => {
    expect(parseTarget("rsync://u1@127.0.0.1:873/m").ok).toBe(true);
    expect(parseTarget("u1@127.0.0.1::m/sub").ok).toBe(true);
  });
});
