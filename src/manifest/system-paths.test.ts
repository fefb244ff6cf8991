import { describe, expect, test } from "vitest";
import { dirProblem, fileProblem, normalisePath, type DirRole } from "./system-paths.ts";

// The path rules of issue 13, on normalised paths.

const MODULE: DirRole = { label: "path", why: "WHY", example: "/srv/m" };
const SOURCE: DirRole = { label: "source", why: "WHY", example: "/srv/data", readOnly: true };
const PID = { label: "pidFile", example: "/run/rsyncd.pid" };

describe("normalisePath", () => {
  test.each([
    ["/tmp/x/../../../usr", "/usr", true],
    ["/srv//data/./", "/srv/data", false],
    ["/../..", "/", true],
    ["/var/run/rsyncd.pid", "/run/rsyncd.pid", false],
    ["/var/lock", "/run/lock", false],
    ["/var/runner", "/var/runner", false],
  ])("%s -> %s", (text, path, dotdot) => {
    expect(normalisePath(text)).toEqual({ path, dotdot });
  });
});

describe("directories rtsync owns (module path, local target, stateDir)", () => {
  test.each([
    ["/", "path / is the root directory; WHY; use a directory of its own such as /srv/m"],
    ["/etc", "path /etc is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/etc/foo", "path /etc/foo lies inside /etc, a system tree; WHY; use a directory of its own such as /srv/m"],
    ["/usr/local/share/m", "path /usr/local/share/m lies inside /usr, a system tree; WHY; use a directory of its own such as /srv/m"],
    ["/lib64", "path /lib64 is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/var/lib", "path /var/lib is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/var", "path /var is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/run", "path /run is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/tmp", "path /tmp is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/home", "path /home is a system directory; WHY; use a directory of its own such as /srv/m"],
    ["/var/spool/cron/crontabs", "path /var/spool/cron/crontabs lies inside /var/spool/cron, a system tree; WHY; use a directory of its own such as /srv/m"],
    ["/root/.ssh", "path /root/.ssh lies inside an .ssh directory (SSH keys and authorized_keys); WHY; use a directory of its own such as /srv/m"],
  ])("%s is refused", (path, message) => {
    expect(dirProblem(path, MODULE)).toBe(message);
  });

  test.each(["/srv/m", "/backup", "/var/lib/rtsync", "/var/log/archive", "/tmp/rtsync-test/m", "/home/backup/data", "/root/backup", "/run/rtsync", "/data"])(
    "%s is fine",
    (path) => {
      expect(dirProblem(path, MODULE)).toBeUndefined();
    },
  );
});

describe("a watch source is only read", () => {
  test.each([
    ["/", "source / is the root directory; WHY; use a directory of its own such as /srv/data"],
    ["/etc", "source /etc is a system directory; WHY; use a directory of its own such as /srv/data"],
    ["/var", "source /var is a system directory; WHY; use a directory of its own such as /srv/data"],
    ["/proc/sys", "source /proc/sys lies inside /proc, a kernel filesystem (inotify reports nothing there, and reading it has side effects); WHY; use a directory of its own such as /srv/data"],
  ])("%s is refused", (path, message) => {
    expect(dirProblem(path, SOURCE)).toBe(message);
  });

  test.each(["/etc/nginx", "/usr/local/share/www", "/srv/data", "/home/alice/docs"])("%s is fine (read, never written)", (path) => {
    expect(dirProblem(path, SOURCE)).toBeUndefined();
  });
});

describe("files rtsync writes", () => {
  test.each([
    ["/etc/passwd", "pidFile /etc/passwd is the user database, a system file rtsync must never write; use a file of its own such as /run/rsyncd.pid"],
    ["/etc/shadow", "pidFile /etc/shadow is the password hashes, a system file rtsync must never write; use a file of its own such as /run/rsyncd.pid"],
    ["/etc/sysctl.conf", "pidFile /etc/sysctl.conf is the administrator's own sysctl settings, a system file rtsync must never write; use a file of its own such as /run/rsyncd.pid"],
    ["/etc/cron.d/rtsync", "pidFile /etc/cron.d/rtsync lies inside /etc/cron.d, whose files a root process reads as configuration or runs; use a file of its own such as /run/rsyncd.pid"],
    ["/etc/sudoers.d/x", "pidFile /etc/sudoers.d/x lies inside /etc/sudoers.d, whose files a root process reads as configuration or runs; use a file of its own such as /run/rsyncd.pid"],
    ["/etc/sysctl.d/90-x.conf", "pidFile /etc/sysctl.d/90-x.conf lies inside /etc/sysctl.d, which sysctl reads at boot: only sysctlFile belongs there; use a file of its own such as /run/rsyncd.pid"],
    ["/proc/sys/kernel/core_pattern", "pidFile /proc/sys/kernel/core_pattern lies inside /proc, a kernel filesystem: writing there changes the running system; use a file of its own such as /run/rsyncd.pid"],
    ["/dev/null", "pidFile /dev/null lies inside /dev, a kernel filesystem: writing there changes the running system; use a file of its own such as /run/rsyncd.pid"],
    ["/usr/bin/rsync", "pidFile /usr/bin/rsync lies inside /usr, which holds programs, libraries or the kernel: a file written there could replace one; use a file of its own such as /run/rsyncd.pid"],
    ["/boot/vmlinuz", "pidFile /boot/vmlinuz lies inside /boot, which holds programs, libraries or the kernel: a file written there could replace one; use a file of its own such as /run/rsyncd.pid"],
    ["/etc", "pidFile /etc is a system directory, not a file of its own; use a file of its own such as /run/rsyncd.pid"],
    ["/run", "pidFile /run is a system directory, not a file of its own; use a file of its own such as /run/rsyncd.pid"],
    ["/", "pidFile / is a system directory, not a file of its own; use a file of its own such as /run/rsyncd.pid"],
    ["/root/.ssh/authorized_keys", "pidFile /root/.ssh/authorized_keys lies inside an .ssh directory (SSH keys and authorized_keys); use a file of its own such as /run/rsyncd.pid"],
  ])("%s is refused", (path, message) => {
    expect(fileProblem(path, PID)).toBe(message);
  });

  test.each(["/etc/rsyncd.conf", "/etc/rsync.password", "/run/rsyncd.pid", "/var/log/rsyncd.log", "/var/lib/rtsync/x.pid", "/usr/local/etc/rsyncd.conf", "/tmp/x/rsyncd.pid", "/srv/rsyncd.conf"])(
    "%s is fine",
    (path) => {
      expect(fileProblem(path, PID)).toBeUndefined();
    },
  );

  test("sysctlFile belongs in /etc/sysctl.d", () => {
    expect(fileProblem("/etc/sysctl.d/90-rtsync.conf", { label: "sysctlFile", example: "/etc/sysctl.d/90-rtsync.conf", sysctl: true })).toBeUndefined();
  });
});
