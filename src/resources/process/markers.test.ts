import { expect, test } from "vitest";
import { buildChildEnv, isAgentCommand, parseMarker } from "./markers.ts";

const marker = { stateDir: "/var/lib/rtsync", owner: "backup", job: "watcher:push", hash: "abc123" };

test("a child's environment is built: a fixed PATH, the C locale, its marker, and nothing of rtsync's own", () => {
  const env = buildChildEnv(marker, { PATH: ":/tmp/evil:/usr/bin", RSYNC_BACKUP_PASSWORD: "s3cret", TZ: "Europe/Berlin", HOME: "/root" });
  expect(env).toEqual({
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    LC_ALL: "C",
    TZ: "Europe/Berlin",
    RTSYNC_STATE_DIR: "/var/lib/rtsync",
    RTSYNC_OWNER: "backup",
    RTSYNC_JOB: "watcher:push",
    RTSYNC_HASH: "abc123",
  });
});

test("the marker reads back from /proc/PID/environ; a process without one is not rtsync's", () => {
  const environ = Object.entries(buildChildEnv(marker, {})).map(([k, v]) => `${k}=${v}`).join("\0") + "\0";
  expect(parseMarker(environ)).toEqual(marker);
  expect(parseMarker("PATH=/usr/bin\0RTSYNC_JOB=watcher:push\0")).toBeUndefined();
  expect(parseMarker("RTSYNC_STATE_DIR=/a=b\0RTSYNC_OWNER=\0RTSYNC_JOB=daemon:d\0RTSYNC_HASH=h\0")).toEqual({ stateDir: "/a=b", owner: "", job: "daemon:d", hash: "h" });
});

test("an rtsync agent is recognised by its command line, installed or built, and nothing else is", () => {
  expect(isAgentCommand(["node", "/usr/local/bin/rtsync", "agent", "/etc/rtsync.yaml"])).toBe(true);
  expect(isAgentCommand(["/usr/bin/node", "--max-semi-space-size=1", "/work/rtsync/dist/cli/bin.js", "agent", "--git", "x"])).toBe(true);
  expect(isAgentCommand(["node", "/usr/local/bin/rtsync", "status", "agent"])).toBe(false);
  expect(isAgentCommand(["node", "/srv/other/agent.js", "agent"])).toBe(false);
  expect(isAgentCommand(["rsync", "--daemon"])).toBe(false);
});
