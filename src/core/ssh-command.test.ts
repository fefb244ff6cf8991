import { describe, expect, test } from "vitest";
import { buildRshArg, describeHostKeyFailure, describeRrsyncRefusal, type SshSpec } from "./ssh-command.ts";

const SPEC: SshSpec = {
  binary: "/usr/bin/ssh",
  identityFile: "/etc/rtsync/keys/www",
  port: 2222,
  knownHostsFile: "/var/lib/rtsync/watches/w/known_hosts-abc",
  controlPath: "/var/lib/rtsync/ssh/0123456789ab",
  host: "203.0.113.5",
  pinnedAt: "watches.w.targets[0].ssh.hostKey in /etc/rtsync/rtsync.yaml",
};

describe("the ssh rtsync runs under rsync", () => {
  test("pins the host key, reads no config, forwards nothing, shares one master per lane", () => {
    expect(buildRshArg(SPEC)).toBe(
      "--rsh=/usr/bin/ssh -F /dev/null -i /etc/rtsync/keys/www -o IdentitiesOnly=yes -o IdentityAgent=none -o StrictHostKeyChecking=yes " +
        "-o UserKnownHostsFile=/var/lib/rtsync/watches/w/known_hosts-abc -o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no -o BatchMode=yes " +
        "-o ForwardAgent=no -o ForwardX11=no -o ClearAllForwardings=yes -o PermitLocalCommand=no -o ControlMaster=auto " +
        "-o ControlPath=/var/lib/rtsync/ssh/0123456789ab -o ControlPersist=300 -o ServerAliveInterval=15 -o ServerAliveCountMax=3 -o ConnectTimeout=15 -o LogLevel=ERROR -p 2222",
    );
  });
});

describe("a host key that is not the pin", () => {
  test("a changed key: one sentence with the host, the offered key and the pin", () => {
    const stderr = [
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
      "The fingerprint for the ED25519 key sent by the remote host is",
      "SHA256:abcDEF123.",
      "Host key verification failed.",
      "rsync: connection unexpectedly closed (0 bytes received so far) [sender]",
    ].join("\n");
    expect(describeHostKeyFailure(stderr, SPEC)).toBe(
      "ssh host key of 203.0.113.5 port 2222 does not match the pin: the host offered a ED25519 key SHA256:abcDEF123, which is not the key pinned at watches.w.targets[0].ssh.hostKey in /etc/rtsync/rtsync.yaml; nothing was sent. " +
        "If the host's key really changed, check the new one out of band (ssh-keyscan -p 2222 203.0.113.5 | ssh-keygen -lf -) and update the pin",
    );
  });

  test("a key of a type the pin does not have", () => {
    const stderr = "No ECDSA host key is known for [203.0.113.5]:2222 and you have requested strict checking.\nHost key verification failed.\n";
    expect(describeHostKeyFailure(stderr, SPEC)).toContain("the host offered a ECDSA key, which is not the key pinned at");
  });

  test("other failures are not host key failures", () => {
    expect(describeHostKeyFailure("ssh: connect to host 203.0.113.5 port 2222: Connection refused\n", SPEC)).toBeUndefined();
    expect(describeHostKeyFailure("root@203.0.113.5: Permission denied (publickey).\n", SPEC)).toBeUndefined();
  });
});

test("a read refused by a write-only rrsync is said so", () => {
  expect(describeRrsyncRefusal(["rsync: connection unexpectedly closed"])).toBeUndefined();
  expect(describeRrsyncRefusal(["/usr/bin/rrsync error: reading from write-only server is not allowed", "rsync: connection unexpectedly closed"])).toMatch(
    /^the receiver's rrsync refused a read \(\/usr\/bin\/rrsync error: reading from write-only server is not allowed\): its key may only write/,
  );
});
