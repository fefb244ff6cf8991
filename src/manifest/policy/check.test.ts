import { describe, expect, test } from "vitest";
import { parseManifest } from "../parse.ts";
import type { PathIdentify } from "../path-identity.ts";
import { globMatch } from "./check.ts";
import { parsePolicy } from "./parse.ts";
import type { NodePolicy } from "./schema.ts";

function policy(text: string): NodePolicy {
  const p = parsePolicy(text, "/etc/rtsync/policy.yaml");
  if (!p.ok) throw new Error(p.errors.map((e) => e.message).join("; "));
  return p.policy;
}

const messages = (text: string, p: NodePolicy, identify?: PathIdentify) => {
  const r = parseManifest(text, "m.yaml", { policy: p, ...(identify ? { identify } : {}) });
  return r.ok ? [] : r.errors.map((e) => `${e.line}:${e.col}: ${e.message}`);
};

describe("node policy", () => {
  test("parses the contract's example and remembers each rule's line", () => {
    const p = policy('version: 1\npaths: [/srv, /backup]\nsysctl: true\naccounts: [rsync, "rtsync-*"]\ngit:\n  allowedSigners: /etc/rtsync/allowed_signers\n');
    expect(p.policy).toEqual({ version: 1, paths: ["/srv", "/backup"], sysctl: true, accounts: ["rsync", "rtsync-*"], git: { allowedSigners: "/etc/rtsync/allowed_signers" } });
    expect(p.lines).toEqual({ paths: 2, sysctl: 3, accounts: 4 });
  });

  test("unknown keys and wrong values are refused at their line and column", () => {
    const r = parsePolicy("version: 1\npaths: [srv]\ngit: { signers: x }\n", "p.yaml");
    expect(r.ok ? [] : r.errors.map((e) => `${e.file}:${e.line}:${e.col}: ${e.message}`)).toEqual([
      "p.yaml:2:9: paths.0 must be an absolute path (start with /)",
      'p.yaml:3:8: unknown key "signers" (a policy has version, paths, sysctl, accounts, git, rsync)',
    ]);
  });

  test("every path the manifest names must lie under a prefix, compared after normalising", () => {
    const p = policy("version: 1\npaths: [/srv]\n");
    const text = "version: 1\nstateDir: /srv/../var/lib/x\nwatches:\n  w: { source: /srv/a, target: /srvx/b }\n";
    expect(messages(text, p)).toEqual([
      expect.stringMatching(/^2:11: stateDir \/srv\/\.\.\/var\/lib\/x must not contain '\.\.'/),
      "2:11: /srv/../var/lib/x is outside the node's policy (/etc/rtsync/policy.yaml:2: paths: [/srv])",
      "4:32: /srvx/b is outside the node's policy (/etc/rtsync/policy.yaml:2: paths: [/srv])",
    ]);
  });

  test("a path under a prefix that is really elsewhere (a symlink) is outside", () => {
    const p = policy("version: 1\npaths: [/srv]\n");
    const identify: PathIdentify = (path) => ({ path: path.startsWith("/srv/link") ? `/etc${path.slice("/srv/link".length)}` : path });
    expect(messages("version: 1\nstateDir: /srv/link/x\n", p, identify)).toEqual(["2:11: /srv/link/x is outside the node's policy (/etc/rtsync/policy.yaml:2: paths: [/srv])"]);
    expect(messages("version: 1\nstateDir: /srv/real/x\n", p, identify)).toEqual([]);
  });

  test("option paths and absolute password files are paths the manifest names", () => {
    const p = policy("version: 1\npaths: [/srv]\n");
    const text = 'version: 1\nstateDir: /srv/s\nusers:\n  u: { password: { file: /etc/machine-id } }\ndaemons:\n  d:\n    options: { "motd file": /opt/motd }\n';
    expect(messages(text, p).filter((m) => m.includes("policy"))).toEqual([
      "4:26: /etc/machine-id is outside the node's policy (/etc/rtsync/policy.yaml:2: paths: [/srv])",
      "7:29: /opt/motd is outside the node's policy (/etc/rtsync/policy.yaml:2: paths: [/srv])",
    ]);
  });

  test("no rules, no refusals", () => {
    expect(messages("version: 1\nstateDir: /var/lib/rtsync\nsysctl: { fs.inotify.max_user_watches: 10 }\n", policy("version: 1\n"))).toEqual([]);
  });

  test("account globs", () => {
    expect(globMatch("rtsync-*", "rtsync-www")).toBe(true);
    expect(globMatch("rtsync-*", "rtsync")).toBe(false);
    expect(globMatch("rsync", "rsync2")).toBe(false);
    expect(globMatch("a?c", "abc")).toBe(true);
    expect(globMatch("a.c", "abc")).toBe(false);
  });
});
