import { describe, expect, test } from "vitest";
import { formatIssue } from "../issues.ts";
import { parseManifest } from "../parse.ts";
import { isPrivateAddress } from "./ssh.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOjSxRSzOHD96hB9e+3zQUa1uI/AdSCrqcg+l+Dwx+7E";

function lines(text: string): string[] {
  const r = parseManifest(text, "m.yaml");
  return [...(r.ok ? [] : r.errors), ...r.warnings].map(formatIssue);
}

const watch = (target: string): string => `version: 1
watches:
  w:
    source: /srv/w
    targets:
${target}`;

describe("ssh targets", () => {
  test("a well-formed one is valid", () => {
    expect(lines(watch(`      - url: ssh://u@203.0.113.5/srv/r\n        ssh: { identityFile: /etc/rtsync/k, hostKey: "${KEY}" }\n`))).toEqual([]);
  });

  test.each([
    [`      - ssh://u@h/srv/r\n`, "m.yaml:6:9: ssh target needs ssh settings: write it as"],
    [`      - url: ssh://u@h/srv/r\n        ssh: { identityFile: /etc/rtsync/k }\n`, "m.yaml:7:9: ssh settings pin no host key"],
    [`      - url: ssh://u@h/srv/r\n        ssh: { identityFile: /etc/rtsync/k, hostKey: "${KEY}", knownHosts: /etc/kh }\n`, "ssh settings take hostKey or knownHosts, not both"],
    [`      - url: ssh://u@h/srv/r\n        ssh: { identityFile: /etc/rtsync/k, hostKey: "AAAA" }\n`, "ssh.hostKey must be one public key"],
    [`      - url: ssh://u@h:2222/srv/r\n        ssh: { identityFile: /etc/rtsync/k, hostKey: "${KEY}", port: 22 }\n`, "ssh.port 22 and the URL's port 2222 disagree"],
    [`      - url: ssh://u@h/srv/r\n        ssh: { identityFile: "/etc/rtsync/my key", hostKey: "${KEY}" }\n`, "has characters ssh's command line would split or interpret"],
    [`      - url: rsync://h/m\n        ssh: { identityFile: /etc/rtsync/k, hostKey: "${KEY}" }\n`, "ssh settings are for ssh:// targets only"],
  ])("%j", (target, message) => {
    expect(lines(watch(target)).join("\n")).toContain(message);
  });

  test("a stateDir too long for the control socket's path is refused", () => {
    const text = watch(`      - url: ssh://u@h/srv/r\n        ssh: { identityFile: /etc/rtsync/k, hostKey: "${KEY}" }\n`).replace("version: 1\n", `version: 1\nstateDir: /${"s".repeat(80)}\n`);
    expect(lines(text)).toEqual(["m.yaml:2:11: stateDir is 81 bytes long; ssh targets keep their connection's socket under it, and a socket path holds 107 bytes: use a stateDir of at most 73 bytes"]);
  });

  test("an rsync:// target at a public address is a warning naming ssh; a private one is not", () => {
    expect(lines(watch("      - rsync://198.51.100.7/m\n"))).toEqual([
      "m.yaml:6:9: warning: target host 198.51.100.7 is not a loopback or private address and the rsync daemon protocol sends file data in clear text; across sites use an ssh:// target (ssh://user@host/path with ssh: identityFile and hostKey) and an sshReceiver",
    ]);
    expect(lines(watch("      - rsync://10.1.2.3/m\n"))).toEqual([]);
  });

  test.each([
    ["127.0.0.1", true],
    ["10.0.0.1", true],
    ["172.16.0.1", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["100.64.0.1", true],
    ["[::1]", true],
    ["fd00::1", true],
    ["2001:db8::1", false],
    ["203.0.113.5", false],
    ["backup.example.com", true],
    ["0.0.0.0", true],
  ])("isPrivateAddress(%s) = %s", (address, want) => {
    expect(isPrivateAddress(address)).toBe(want);
  });
});

describe("sshReceivers", () => {
  const receiver = (path: string, key = KEY): string => `version: 1
sshReceivers:
  r:
    account: rtsync-www
    path: ${path}
    authorizedKeys: ["${key}"]
`;
  test("a well-formed one is valid", () => {
    expect(lines(receiver("/srv/replica/www"))).toEqual([]);
  });
  test("a system directory is refused, like a module's", () => {
    expect(lines(receiver("/etc"))).toEqual(["m.yaml:5:11: path /etc is a system directory; rtsync would make it owned by the receiver's account, and senders could write there; use a directory of its own such as /srv/replica/r"]);
  });
  test("a key line with options or a line break is refused", () => {
    expect(lines(receiver("/srv/r", `command=\\"sh\\" ${KEY}`)).join("\n")).toContain("authorizedKeys item must be one public key line without options");
    expect(lines(receiver("/srv/r", `${KEY} x # rtsync:other`)).join("\n")).toContain("must not contain '# rtsync:'");
  });
});
