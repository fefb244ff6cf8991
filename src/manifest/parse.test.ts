import { describe, expect, test } from "vitest";
import { formatIssue } from "./issues.ts";
import { parseManifest, YAML_OPTIONS } from "./parse.ts";

// Every kind of bad input `validate` must reject (or warn about), with its line and column.

function lines(yaml: string): string[] {
  const r = parseManifest(yaml, "m.yaml");
  return [...(r.ok ? [] : r.errors), ...r.warnings].map(formatIssue);
}

// Errors only, for tests about errors in manifests that also draw warnings (an open module).
function errorLines(yaml: string): string[] {
  const r = parseManifest(yaml, "m.yaml");
  return (r.ok ? [] : r.errors).map(formatIssue);
}

const USERS = `users:\n  u1:\n    password: { env: U1_PASSWORD }\n`;

describe("valid manifests", () => {
  test("a minimal manifest is valid with defaults filled in", () => {
    const r = parseManifest("version: 1\n", "m.yaml");
    expect(r).toMatchObject({ ok: true, manifest: { version: 1, users: {}, daemons: {}, watches: {} }, warnings: [] });
  });

  test("daemon and watch defaults", () => {
    const r = parseManifest(
      `version: 1\n${USERS}daemons:\n  d:\n    modules:\n      m: { path: /srv/m }\nwatches:\n  w:\n    source: /src\n    target: u1@127.0.0.1::m\n    delay: 200ms\n`,
      "m.yaml",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifest.daemons["d"]).toMatchObject({ address: "0.0.0.0", port: 873, createAccount: false });
    expect(r.manifest.watches["w"]).toMatchObject({ watcher: "auto", initialSync: true, exclude: [], rsyncArgs: [], delay: "200ms" });
  });
});

describe("syntax and structure", () => {
  test.each([
    ["", "m.yaml:1:1: the manifest is empty; it needs at least `version: 1`"],
    ["# only a comment\n", "m.yaml:1:1: the manifest is empty; it needs at least `version: 1`"],
    ["- a\n- b\n", "m.yaml:1:1: the manifest must be a mapping of keys (version, users, daemons, watches, …), not a list or a single value"],
    ["version: 1\nusers: [a\n", "m.yaml:3:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]"],
    ["version: 1\nversion: 1\n", 'm.yaml:2:1: duplicate key "version": a key may appear only once in a mapping'],
    ["version: 2\n", "m.yaml:1:10: version must be 1 (the only manifest version)"],
    ["users: {}\n", 'm.yaml:1:1: missing required key "version"'],
  ])("%j", (yaml, expected) => {
    expect(lines(yaml)).toEqual([expected]);
  });

  test("duplicate keys deeper in the tree are reported where they stand", () => {
    expect(lines(`version: 1\n${USERS}  u1:\n    password: { env: X }\n`)).toEqual([
      'm.yaml:5:3: duplicate key "u1": a key may appear only once in a mapping',
    ]);
  });
});

describe("schema errors", () => {
  test("unknown keys, with a suggestion", () => {
    expect(lines("version: 1\nwatchs: {}\n")).toEqual(['m.yaml:2:1: unknown key "watchs" at the top level (did you mean "watches"?)']);
    expect(lines("version: 1\ndaemons:\n  d:\n    prot: 873\n")).toEqual([
      'm.yaml:4:5: unknown key "prot" in daemons.d (did you mean "port"?)',
    ]);
  });

  test("names must match the contract's pattern", () => {
    expect(lines("version: 1\ndaemons:\n  bad name:\n    port: 1\n")).toEqual([
      `m.yaml:3:3: invalid name "bad name": must start with a letter or digit and contain only letters, digits, '.', '_' and '-'`,
    ]);
  });

  test.each(["we[ird", "we]ird", "a/b", "#mod", " lead"])("module name %j cannot break the section header", (name) => {
    const out = lines(`version: 1\ndaemons:\n  d:\n    modules:\n      "${name}": { path: /x }\n`);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^m\.yaml:5:7: invalid name /);
  });

  test("paths must be absolute", () => {
    expect(lines("version: 1\ndaemons:\n  d:\n    config: etc/rsyncd.conf\n    modules:\n      m: { path: data }\nwatches:\n  w: { source: ./src, target: /dst }\n")).toEqual([
      "m.yaml:4:13: config must be an absolute path (start with /)",
      "m.yaml:6:18: path must be an absolute path (start with /)",
      "m.yaml:8:16: source must be an absolute path (start with /)",
    ]);
  });

  test("durations", () => {
    expect(lines("version: 1\nwatches:\n  w: { source: /s, target: /d, delay: 2h }\n")).toEqual([
      "m.yaml:3:39: delay must be a duration: a whole number of milliseconds or a string like 200ms, 2s, 1m",
    ]);
    expect(lines("version: 1\nwatches:\n  w: { source: /s, target: /d, delay: 1500 }\n")).toEqual([]);
  });

  test("sysctl: fs.inotify.* only, positive integers", () => {
    expect(lines("version: 1\nsysctl:\n  fs.inotify.max_user_watches: 0\n  vm.swappiness: 10\n")).toEqual([
      "m.yaml:3:32: fs.inotify.max_user_watches must be greater than 0",
      'm.yaml:4:3: sysctl key "vm.swappiness" is not allowed: rtsync only raises fs.inotify.max_user_watches, fs.inotify.max_queued_events, fs.inotify.max_user_instances',
    ]);
  });

  test("an inline password string is an error; { value } is a warning", () => {
    expect(lines("version: 1\nusers:\n  u:\n    password: secret\n")).toEqual([
      "m.yaml:4:15: password must not be written inline; use { env: VARIABLE } or { file: path/relative/to/manifest }",
    ]);
    const r = parseManifest("version: 1\nusers:\n  u:\n    password: { value: s3cret }\n", "m.yaml");
    expect(r.ok).toBe(true);
    expect(r.warnings.map(formatIssue)).toEqual([
      'm.yaml:4:15: warning: user "u" has an inline password; keep it out of git with { env: VARIABLE } or { file: PATH }',
    ]);
  });

  test("all errors are reported, not only the first", () => {
    const out = lines("version: 1\ndaemons:\n  d:\n    port: 0\n    modules:\n      m: { path: /m, authUsers: [ghost] }\nwatches:\n  w: { source: rel, target: /d }\n");
    expect(out).toEqual([
      "m.yaml:4:11: port must be at least 1",
      'm.yaml:6:34: auth user "ghost" is not defined in users',
      "m.yaml:8:16: source must be an absolute path (start with /)",
    ]);
  });
});

describe("semantic errors", () => {
  test("authUsers and target users must exist in users", () => {
    expect(
      lines(`version: 1\n${USERS}daemons:\n  d:\n    modules:\n      m: { path: /m, authUsers: [u1, "u1:ro", "ghost:rw"] }\nwatches:\n  w: { source: /s, target: "rsync://nobody@127.0.0.1/m" }\n`),
    ).toEqual(['m.yaml:8:47: auth user "ghost" is not defined in users', 'm.yaml:10:28: target user "nobody" is not defined in users']);
  });

  test.each([
    ["host:/path", "is an scp-style remote-shell target; write it as ssh://user@host[:port]/absolute/path with ssh: settings (identityFile, hostKey)"],
    ["rsync://127.0.0.1", "is not a valid rsync:// URL"],
    ["rsync://127.0.0.1:99999/m", "target port 99999 is not between 1 and 65535"],
    ["127.0.0.1::", "names no valid module after the host"],
    ["relative/dir", "must be rsync://"],
    ["rsync://h/m/../etc", "has an empty, '.' or '..' path segment"],
  ])("target %j", (target, message) => {
    const out = lines(`version: 1\nwatches:\n  w: { source: /s, target: "${target}" }\n`);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain("m.yaml:3:28: ");
    expect(out[0]).toContain(message);
  });

  test("a local target inside the source is refused", () => {
    expect(lines("version: 1\nwatches:\n  w: { source: /data, target: /data/replica }\n")).toEqual([
      "m.yaml:3:31: target /data/replica and source /data overlap; a watch would copy into its own tree",
    ]);
    expect(lines("version: 1\nwatches:\n  w: { source: /srv//data/, target: /srv/data/./replica }\n")).toEqual([
      "m.yaml:3:37: target /srv/data/replica and source /srv/data overlap; a watch would copy into its own tree",
    ]);
  });

  test.each([
    ["* * *", 'schedule "* * *" has 3 fields; a cron schedule has 5 (minute hour day month weekday) or 6 (seconds first)'],
    ["61 * * * *", 'schedule "61 * * * *" is not a valid cron expression: Constraint error, got value 61 expected range 0-59'],
  ])("cron %j", (schedule, message) => {
    expect(lines(`version: 1\nwatches:\n  w:\n    source: /s\n    target: /d\n    fullSync: { schedule: "${schedule}" }\n`)).toEqual([`m.yaml:6:27: ${message}`]);
  });

  test("cron with 6 fields (seconds) is accepted", () => {
    expect(lines(`version: 1\nwatches:\n  w:\n    source: /s\n    target: /d\n    fullSync: { schedule: "*/5 * * * * *" }\n`)).toEqual([]);
  });

  test("two daemons of one node on the same address and port", () => {
    const clash = "version: 1\ndaemons:\n  a: { port: 8730 }\n  b: { port: 8730, address: 127.0.0.1 }\n";
    expect(lines(clash)).toEqual(['m.yaml:4:14: daemons "a" and "b" both listen on 127.0.0.1:8730 on the same node']);
    const apart = "version: 1\ndaemons:\n  a: { port: 8730, nodes: [x] }\n  b: { port: 8730, nodes: [y] }\n";
    expect(lines(apart)).toEqual([]);
  });

  test("options keys must be real rsyncd.conf parameters at the right level", () => {
    expect(
      errorLines(
        'version: 1\ndaemons:\n  d:\n    options: { "motd file": /etc/motd, "max conections": 3, "pid file": /x }\n    modules:\n      m:\n        path: /m\n        options: { "dont compress": "*.gz", "listen backlog": 5, bogus: 1 }\n',
      ),
    ).toEqual([
      'm.yaml:4:40: options."max conections" is not an rsyncd.conf parameter',
      'm.yaml:4:61: options."pid file" is set by the manifest key pidFile; use that key instead',
      'm.yaml:8:45: options."listen backlog" is a global parameter: set it in the daemon\'s options',
      'm.yaml:8:66: options."bogus" is not an rsyncd.conf parameter',
    ]);
  });

  test("createAccount needs an account name in uid", () => {
    expect(lines("version: 1\ndaemons:\n  d:\n    uid: 1001\n    createAccount: true\n")).toEqual([
      "m.yaml:5:20: createAccount needs uid to be an account name (it creates that system account)",
    ]);
  });

  test("module named global, and names that differ only in case", () => {
    expect(errorLines("version: 1\ndaemons:\n  d:\n    modules:\n      global: { path: /g }\n      data: { path: /a }\n      Data: { path: /b }\n")).toEqual([
      'm.yaml:5:7: module name "global" is reserved by rsyncd.conf ([global] is the global section)',
      'm.yaml:7:7: module names "data" and "Data" differ only in case',
    ]);
  });
});

describe("values that could break rsyncd.conf or the secrets file", () => {
  test.each([
    ['"two\\nlines"', "must not contain a line break or NUL (it would start a new rsyncd.conf line)"],
    ['"# not a comment"', "must not start with '#' or ';' (rsyncd.conf would read a comment)"],
    ['"; nor this"', "must not start with '#' or ';' (rsyncd.conf would read a comment)"],
    ['"ends with \\\\"', "must not end with a backslash (rsyncd.conf would join the next line)"],
    ['" padded "', "must not start or end with spaces (rsyncd strips them)"],
  ])("comment %s", (value, message) => {
    expect(errorLines(`version: 1\ndaemons:\n  d:\n    modules:\n      m:\n        path: /m\n        comment: ${value}\n`)).toEqual([`m.yaml:7:18: comment ${message}`]);
  });

  test("a path with a newline, an injected section in options and a host with a space", () => {
    expect(
      lines(
        'version: 1\ndaemons:\n  d:\n    hostsAllow: ["10.0.0.1 10.0.0.2"]\n    modules:\n      m:\n        path: "/m\\n[evil]"\n        options: { "dont compress": "x\\npath = /" }\n',
      ),
    ).toEqual([
      'm.yaml:4:18: host pattern "10.0.0.1 10.0.0.2" must be one pattern: no spaces or commas',
      "m.yaml:7:15: path must not contain a line break or NUL (it would start a new rsyncd.conf line)",
      "m.yaml:8:37: dont compress must not contain a line break or NUL (it would start a new rsyncd.conf line)",
    ]);
  });

  test("a { value } password with a newline would add a secrets line", () => {
    const out = lines('version: 1\nusers:\n  u:\n    password: { value: "pw\\nroot:x" }\n');
    expect(out).toContain("m.yaml:4:24: password must not contain a line break or NUL (it would start a new secrets file line)");
    expect(out.join("\n")).not.toContain("root:x");
  });
});

describe("warnings", () => {
  test("the classic hostsAllow + hostsDeny 0.0.0.0/32 admits every host", () => {
    const r = parseManifest(
      `version: 1\n${USERS}daemons:\n  d:\n    modules:\n      m:\n        path: /m\n        authUsers: [u1]\n        hostsAllow: [192.168.1.0/24]\n        hostsDeny: [0.0.0.0/32]\n`,
      "m.yaml",
    );
    expect(r.ok).toBe(true);
    expect(r.warnings.map(formatIssue)).toEqual([
      'm.yaml:12:20: warning: module "m": hostsDeny ["0.0.0.0/32"] together with hostsAllow lets in every host that matches neither list (rsyncd admits such hosts); drop hostsDeny so hostsAllow alone shuts out the rest, or deny "*"',
    ]);
  });

  test("deny * is a real deny list: no warning", () => {
    expect(lines(`version: 1\ndaemons:\n  d:\n    hostsAllow: [10.0.0.0/8]\n    hostsDeny: ["*"]\n`)).toEqual([]);
  });

  test("a writable module open to everybody, and root without chroot", () => {
    expect(lines("version: 1\ndaemons:\n  d:\n    uid: root\n    modules:\n      m: { path: /m, readOnly: false }\n")).toEqual([
      "m.yaml:4:10: warning: module \"m\" is writable while the daemon runs as root without useChroot: a client can write outside /m through symlinks",
      'm.yaml:6:10: warning: module "m" is writable by anyone who can reach the daemon: set authUsers or hostsAllow',
    ]);
  });
});

describe("bounded input (issue 13)", () => {
  test("every duplicate key is reported at its own position, not only the first", () => {
    expect(lines("version: 1\nusers: {}\nusers: {}\ndaemons:\n  d: {}\n  d: {}\n")).toEqual([
      'm.yaml:3:1: duplicate key "users": a key may appear only once in a mapping',
      'm.yaml:6:3: duplicate key "d": a key may appear only once in a mapping',
    ]);
  });

  test("the same key in two different mappings is not a duplicate", () => {
    expect(lines("version: 1\ndaemons:\n  a: { port: 8730 }\n  b: { port: 8731 }\n")).toEqual([]);
  });

  test("80,000 modules: a duplicate among them is found (parsing is linear; see the report for timings)", () => {
    // The yaml library's own duplicate check compares every key with every other (a minute here).
    expect(YAML_OPTIONS).toMatchObject({ uniqueKeys: false });
    const modules = Array.from({ length: 80_000 }, (_, i) => `      m${i}: { path: /srv/m${i} }\n`).join("");
    const r = parseManifest(`version: 1\ndaemons:\n  d:\n    modules:\n${modules}      m79999: { path: /srv/x }\n`, "m.yaml");
    expect([...(r.ok ? [] : r.errors)].map(formatIssue)).toEqual(['m.yaml:80005:7: duplicate key "m79999": a key may appear only once in a mapping']);
  });

  test("20,000 open modules: one warning each, placed at its own line (placing issues is linear too)", () => {
    const modules = Array.from({ length: 20_000 }, (_, i) => `      m${i}: { path: /srv/m${i} }\n`).join("");
    const r = parseManifest(`version: 1\ndaemons:\n  d:\n    modules:\n${modules}`, "m.yaml");
    expect(r.ok).toBe(true);
    expect(r.warnings).toHaveLength(20_000);
    expect(formatIssue(r.warnings[19_999] as (typeof r.warnings)[number])).toBe(
      'm.yaml:20004:15: warning: module "m19999" is readable by anyone who can reach 0.0.0.0:873: set authUsers or hostsAllow, or bind address to a private interface',
    );
  });

  test("an alias bomb is a manifest error at the alias that blows up, not an internal error", () => {
    const bomb = [
      "version: 1",
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
      "",
    ].join("\n");
    expect(lines(bomb)).toEqual([
      "m.yaml:6:36: alias *d makes the manifest expand past 100000 values (an alias bomb); aliases may add at most 100000 values in all",
    ]);
  });

  test("an alias without an anchor, or inside its own anchor, is a manifest error", () => {
    expect(lines("version: 1\nusers: *nope\n")).toEqual(["m.yaml:2:8: alias *nope refers to no anchor before it"]);
    expect(lines("version: 1\nusers: &x { u: *x }\n")).toEqual(["m.yaml:2:16: alias *x refers to a value that contains it"]);
  });

  test("more anchors and aliases than a manifest needs are refused (each alias costs a scan of all of them)", () => {
    const items = Array.from({ length: 600 }, (_, i) => `  - &a${i} v\n  - *a${i}\n`).join("");
    expect(lines(`version: 1\nx:\n${items}`)).toEqual(["m.yaml:1003:11: the manifest has more than 1000 anchors and aliases; write the values out instead"]);
  });

  test("a key that is a list, a mapping or an alias is refused", () => {
    expect(lines("version: 1\n? [a]\n: 1\n")).toEqual(["m.yaml:2:3: a key must be a plain name, not a list, a mapping or an alias"]);
  });

  test("nesting deeper than any manifest needs is refused before it can exhaust the stack", () => {
    const deep = `version: 1\nx: ${"[".repeat(100)}${"]".repeat(100)}\n`;
    expect(lines(deep)).toEqual(["m.yaml:2:67: the manifest is nested more than 64 levels deep"]);
    const deeper = `version: 1\nx: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
    expect(lines(deeper)).toEqual([expect.stringMatching(/^m\.yaml:2:\d+: the manifest is nested too deeply$/)]);
  });

  test("text over 4 MiB is refused before it is parsed", () => {
    const text = `version: 1\ncomment: "${"x".repeat(4 * 1024 * 1024)}"\n`;
    expect(lines(text)).toEqual([`m.yaml:1:1: the manifest is ${Buffer.byteLength(text)} bytes, over the limit of 4 MiB (4194304 bytes); rtsync does not parse it`]);
  });
});

describe("rsyncArgs is an allow-list (issue 13)", () => {
  test("--remove-source-files, --delete-excluded and a split value are refused, each at its item", () => {
    expect(lines('version: 1\nwatches:\n  w:\n    source: /s\n    target: /d\n    rsyncArgs: ["--remove-source-files", "-z", "--delete-excluded", "--bwlimit", "1000"]\n')).toEqual([
      `m.yaml:6:17: rsyncArgs item "--remove-source-files" is not allowed: rsync would delete each source file once sent and the watcher would then delete the replica's copy, so both copies are lost`,
      'm.yaml:6:48: rsyncArgs item "--delete-excluded" is not allowed: rtsync decides what is deleted (the listed paths on incremental runs, --delete-delay on full syncs); on an incremental run, where everything unlisted is excluded, it would delete the whole target',
      'm.yaml:6:69: rsyncArgs item "--bwlimit" needs its value in the same item: --bwlimit=RATE (each item is one argument)',
      'm.yaml:6:82: rsyncArgs item "1000" is not an option: rsyncArgs holds options only (a path would become one more source)',
    ]);
  });

  test("the contract's own example stays valid", () => {
    expect(lines('version: 1\nwatches:\n  w: { source: /s, target: /d, rsyncArgs: ["--timeout=100", "--compress"] }\n')).toEqual([]);
  });

  test("maxDelete is the key for --max-delete: a positive whole number", () => {
    expect(lines("version: 1\nwatches:\n  w: { source: /s, target: /d, maxDelete: 1000 }\n")).toEqual([]);
    expect(lines("version: 1\nwatches:\n  w: { source: /s, target: /d, maxDelete: 0 }\n")).toEqual(["m.yaml:3:43: maxDelete must be greater than 0"]);
    expect(lines('version: 1\nwatches:\n  w: { source: /s, target: /d, rsyncArgs: ["--max-delete=5"] }\n')).toEqual([
      `m.yaml:3:44: rsyncArgs item "--max-delete=5" is not allowed: use the watch's maxDelete: key (full syncs delete at most that many files)`,
    ]);
  });
});

describe("dangerous paths (issue 13)", () => {
  test("a module at /, /etc or /tmp/x/../../../usr would be chowned to the transfer user", () => {
    expect(errorLines("version: 1\ndaemons:\n  d:\n    modules:\n      a: { path: / }\n      b: { path: /etc }\n      c: { path: /tmp/x/../../../usr }\n")).toEqual([
      "m.yaml:5:18: path / is the root directory; rtsync would make it owned by the transfer user and clients could write there; use a directory of its own such as /srv/a",
      "m.yaml:6:18: path /etc is a system directory; rtsync would make it owned by the transfer user and clients could write there; use a directory of its own such as /srv/b",
      "m.yaml:7:18: path /tmp/x/../../../usr must not contain '..'; write the path it stands for (/usr)",
      "m.yaml:7:18: path /usr is a system directory; rtsync would make it owned by the transfer user and clients could write there; use a directory of its own such as /srv/c",
    ]);
  });

  test("a watch target /etc would be made a copy of the source", () => {
    expect(lines("version: 1\nwatches:\n  w: { source: /srv/data, target: /etc/ }\n")).toEqual([
      "m.yaml:3:35: target /etc is a system directory; each full sync makes it an exact copy of the source, deleting everything else in it; use a directory of its own such as /srv/replica",
    ]);
  });

  test("daemon files, sysctlFile and stateDir", () => {
    const text = [
      "version: 1",
      "stateDir: /var/lib",
      "sysctlFile: /etc/sysctl.conf",
      "daemons:",
      "  d:",
      "    config: /etc/rsyncd.conf",
      "    pidFile: /etc/passwd",
      "    lockFile: /var/run/rsync.lock",
      "    logFile: /proc/self/fd/1",
      "    secretsFile: /etc/cron.d/rsync",
      "",
    ].join("\n");
    expect(lines(text)).toEqual([
      "m.yaml:2:11: stateDir /var/lib is a system directory; rtsync writes and prunes its own files there; use a directory of its own such as /var/lib/rtsync",
      "m.yaml:3:13: sysctlFile /etc/sysctl.conf is the administrator's own sysctl settings, a system file rtsync must never write; use a file of its own such as /etc/sysctl.d/90-rtsync.conf",
      "m.yaml:7:14: pidFile /etc/passwd is the user database, a system file rtsync must never write; use a file of its own such as /run/rsyncd.pid",
      "m.yaml:9:14: logFile /proc/self/fd/1 lies inside /proc, a kernel filesystem: writing there changes the running system; use a file of its own such as /var/log/rsyncd.log",
      "m.yaml:10:18: secretsFile /etc/cron.d/rsync lies inside /etc/cron.d, whose files a root process reads as configuration or runs; use a file of its own such as /etc/rsyncd.secrets",
    ]);
  });

  test("a watch source may not be / or a system tree, but may lie inside /etc (it is only read)", () => {
    expect(lines("version: 1\nwatches:\n  a: { source: /, target: rsync://h/m }\n  b: { source: /etc/nginx, target: /srv/r2 }\n")).toEqual([
      "m.yaml:3:16: source / is the root directory; rtsync would read all of it as root and push it to the target; use a directory of its own such as /srv/data",
    ]);
  });
});

describe("every path rtsync writes or owns has one purpose (issue 13)", () => {
  test("sysctlFile equal to a secretsFile names both positions (diff printed the password)", () => {
    const text = "version: 1\nsysctlFile: /etc/rtsync.conf\ndaemons:\n  d:\n    secretsFile: /etc//rtsync.conf\n";
    expect(lines(text)).toEqual([
      "m.yaml:5:18: secretsFile /etc/rtsync.conf is also sysctlFile (m.yaml:2:13); each file rtsync writes must have one purpose",
    ]);
  });

  test("config equal to secretsFile (rsyncd ran with the secrets as its config)", () => {
    expect(lines("version: 1\ndaemons:\n  d:\n    config: /etc/rsyncd.conf\n    secretsFile: /etc/rsyncd.conf\n")).toEqual([
      "m.yaml:5:18: secretsFile /etc/rsyncd.conf is also daemons.d.config (m.yaml:4:13); each file rtsync writes must have one purpose",
    ]);
  });

  test("a daemon's files inside a module, a watch source or a local target", () => {
    const text = [
      "version: 1",
      "daemons:",
      "  d:",
      "    config: /srv/m/rsyncd.conf",
      "    logFile: /srv/data/rsyncd.log",
      "    pidFile: /srv/replica/rsyncd.pid",
      "    modules:",
      "      m: { path: /srv/m }",
      "watches:",
      "  w: { source: /srv/data, target: /srv/replica }",
      "",
    ].join("\n");
    expect(errorLines(text)).toEqual([
      "m.yaml:4:13: config /srv/m/rsyncd.conf lies inside daemons.d.modules.m.path (m.yaml:8:18); clients of that module could read or replace it",
      "m.yaml:5:14: logFile /srv/data/rsyncd.log lies inside watches.w.source (m.yaml:10:16); the watch would copy it to the target, and each write to it would start a sync",
      "m.yaml:6:14: pidFile /srv/replica/rsyncd.pid lies inside watches.w.target (m.yaml:10:35); the watch's full syncs would delete or overwrite it",
    ]);
  });

  test("daemons on disjoint nodes may share a path; on a shared node they may not", () => {
    expect(lines("version: 1\ndaemons:\n  a: { nodes: [x], port: 8730, pidFile: /run/rsyncd.pid }\n  b: { nodes: [y], port: 8730, pidFile: /var/run/rsyncd.pid }\n")).toEqual([]);
    expect(lines("version: 1\ndaemons:\n  a: { nodes: [x, z], port: 8730, pidFile: /run/rsyncd.pid }\n  b: { nodes: [z], port: 8731, pidFile: /var/run/rsyncd.pid }\n")).toEqual([
      "m.yaml:4:41: pidFile /run/rsyncd.pid is also daemons.a.pidFile (m.yaml:3:44); each file rtsync writes must have one purpose",
    ]);
  });

  test("a module directory has one owner: modules of one daemon may share it, two daemons may not", () => {
    const text = "version: 1\ndaemons:\n  a:\n    port: 8730\n    modules:\n      ro: { path: /srv/m }\n      rw: { path: /srv/m }\n  b:\n    port: 8731\n    modules:\n      m: { path: /srv/m/ }\n";
    expect(errorLines(text)).toEqual([
      "m.yaml:11:18: path /srv/m is also daemons.a.modules.ro.path (m.yaml:6:19); a directory rtsync owns must have one owner",
    ]);
  });

  test("two watches writing one local target, or one inside the other", () => {
    const text = "version: 1\nwatches:\n  a: { source: /srv/a, target: /srv/r }\n  b: { source: /srv/b, target: /srv/r/ }\n  c: { source: /srv/c, target: /srv/r/c }\n";
    expect(lines(text)).toEqual([
      "m.yaml:4:32: target /srv/r is also watches.a.target (m.yaml:3:32); two watches would each delete what the other copies there",
      "m.yaml:5:32: target /srv/r/c lies inside watches.a.target (m.yaml:3:32); two watches would each delete what the other copies there",
    ]);
  });

  test("two watches pushing to one daemon module, in either spelling", () => {
    const text = `version: 1\n${USERS}watches:\n  a: { source: /srv/a, target: "rsync://u1@Backup:873/m" }\n  b: { source: /srv/b, target: "backup::m" }\n  c: { source: /srv/c, target: "backup::m/c" }\n  d: { source: /srv/d, target: "backup::other" }\n`;
    expect(lines(text)).toEqual([
      'm.yaml:7:32: target rsync://backup:873/m is also watches.a.target (m.yaml:6:32); two watches would each delete what the other copies there',
      'm.yaml:8:32: target rsync://backup:873/m/c lies inside watches.a.target (m.yaml:6:32); two watches would each delete what the other copies there',
    ]);
  });

  test("targets: a watch takes target or targets, never both, never none, never an empty list", () => {
    const text = "version: 1\nwatches:\n  both:\n    source: /srv/a\n    target: /srv/r1\n    targets: [/srv/r2]\n  none:\n    source: /srv/b\n  empty:\n    source: /srv/c\n    targets: []\n";
    expect(lines(text)).toEqual([
      "m.yaml:6:5: `targets` and `target` (m.yaml:5:5) in one watch: a watch takes one or the other; move that target into the list",
      "m.yaml:7:3: the watch has no target: add `target: DESTINATION`, or `targets: [...]` for several",
      "m.yaml:11:14: targets lists no target: name at least one (or use `target:`)",
    ]);
  });

  test("targets: one destination listed twice in a watch (any spelling), or one inside another, names both positions", () => {
    const text = `version: 1\n${USERS}watches:\n  w:\n    source: /srv/w\n    targets:\n      - rsync://u1@Backup:873/m\n      - { url: "backup::m", maxDelete: 5 }\n      - rsync://backup:874/m\n      - /srv/r\n      - /srv/r/\n      - /srv/r/sub\n`;
    expect(lines(text)).toEqual([
      "m.yaml:10:16: target rsync://backup:873/m is also watches.w.targets[0] (m.yaml:9:9); a watch lists each target once",
      "m.yaml:13:9: target /srv/r is also watches.w.targets[3] (m.yaml:12:9); a watch lists each target once",
      "m.yaml:14:9: target /srv/r/sub lies inside watches.w.targets[3] (m.yaml:12:9); the full syncs of one would delete what the watch copies to the other",
    ]);
  });

  test("targets: two watches pushing to one target path, through target and targets", () => {
    const text = `version: 1\n${USERS}watches:\n  a: { source: /srv/a, targets: [/srv/x, "u1@backup::m/sub"] }\n  b: { source: /srv/b, target: "rsync://BACKUP/m/sub/" }\n  c: { source: /srv/c, targets: [{ url: /srv/x/c }] }\n`;
    expect(lines(text)).toEqual([
      "m.yaml:7:32: target rsync://backup:873/m/sub is also watches.a.targets[1] (m.yaml:6:42); two watches would each delete what the other copies there",
      "m.yaml:8:41: target /srv/x/c lies inside watches.a.targets[0] (m.yaml:6:34); two watches would each delete what the other copies there",
    ]);
  });

  test("targets: each entry is checked like target, its own rsyncArgs and schedule like the watch's", () => {
    const text = `version: 1\n${USERS}watches:\n  w:\n    source: /srv/w\n    targets:\n      - nobody@host::m\n      - { url: /srv/w/inside }\n      - { url: /srv/ok, rsyncArgs: ["--delete-excluded"], fullSync: { schedule: "61 * * * *" } }\n      - host:/ssh\n`;
    expect(lines(text)).toEqual([
      'm.yaml:9:9: target user "nobody" is not defined in users',
      "m.yaml:10:16: target /srv/w/inside and source /srv/w overlap; a watch would copy into its own tree",
      'm.yaml:11:37: rsyncArgs item "--delete-excluded" is not allowed: rtsync decides what is deleted (the listed paths on incremental runs, --delete-delay on full syncs); on an incremental run, where everything unlisted is excluded, it would delete the whole target',
      expect.stringMatching(/^m\.yaml:11:81: schedule "61 \* \* \* \*" /),
      expect.stringMatching(/^m\.yaml:12:9: target "host:\/ssh" is an scp-style remote-shell target; write it as ssh:\/\//),
    ]);
  });

  test("targets: a malformed entry says what an entry may be", () => {
    const text = "version: 1\nwatches:\n  w:\n    source: /srv/w\n    targets:\n      - { url: /srv/r1, rsyncArg: [] }\n      - { maxDelete: 3 }\n      - 17\n";
    expect(lines(text)).toEqual([
      'm.yaml:6:25: unknown key "rsyncArg" in watches.w.targets.0 (did you mean "rsyncArgs"?)',
      'm.yaml:7:9: missing required key "url"',
      "m.yaml:8:9: targets item 2 must be a target (rsync://…, host::module or /dir) or { url, rsyncArgs, fullSync, maxDelete }, not number 17",
    ]);
  });

  test("stateDir stays out of what rtsync syncs and exports, and keeps its own files", () => {
    const text = "version: 1\nstateDir: /data/state\ndaemons:\n  d:\n    logFile: /data/state/rsyncd.log\n    modules:\n      m: { path: /data }\n";
    expect(errorLines(text)).toEqual([
      "m.yaml:2:11: stateDir /data/state lies inside daemons.d.modules.m.path (m.yaml:7:18); rtsync's own files must stay out of what it syncs and exports",
      "m.yaml:5:14: logFile /data/state/rsyncd.log lies inside stateDir (m.yaml:2:11); stateDir is rtsync's own tree: leave logFile out to get its default there, or move it out",
      "m.yaml:5:14: logFile /data/state/rsyncd.log lies inside daemons.d.modules.m.path (m.yaml:7:18); clients of that module could read or replace it",
    ]);
  });

  test("a watch source holding stateDir would sync rtsync's own status writes, forever", () => {
    expect(lines("version: 1\nstateDir: /data/rtsync\nwatches:\n  w: { source: /data, target: rsync://h/m }\n")).toEqual([
      "m.yaml:2:11: stateDir /data/rtsync lies inside watches.w.source (m.yaml:4:16); every status write of rtsync would start a sync",
    ]);
  });

  test("without stateDir, root's default /var/lib/rtsync is rtsync's own tree", () => {
    expect(lines("version: 1\ndaemons:\n  d:\n    pidFile: /var/lib/rtsync/daemons/e/rsyncd.pid\n")).toEqual([
      "m.yaml:4:14: pidFile /var/lib/rtsync/daemons/e/rsyncd.pid lies inside the default stateDir /var/lib/rtsync; stateDir is rtsync's own tree: leave pidFile out to get its default there, or move it out",
    ]);
  });

  test("the two-host example: source and module at the same path on different nodes is fine", () => {
    const text = `version: 1\n${USERS}daemons:\n  d:\n    nodes: [slave]\n    modules:\n      m: { path: /backup, authUsers: [u1], hostsAllow: [10.0.0.0/8] }\nwatches:\n  w: { nodes: [master], source: /backup, target: "u1@10.0.0.2::m" }\n`;
    expect(lines(text)).toEqual([]);
  });
});

describe("warnings follow the meaning, not the key (issue 13)", () => {
  function warnings(yaml: string): string[] {
    const r = parseManifest(yaml, "m.yaml");
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
    return r.warnings.map(formatIssue);
  }

  test('"read only": false in the daemon\'s options makes every module without its own readOnly writable', () => {
    expect(warnings('version: 1\ndaemons:\n  d:\n    address: 10.0.0.1\n    options: { "read only": false }\n    modules:\n      m: { path: /srv/m }\n      ro: { path: /srv/ro, readOnly: true }\n')).toEqual([
      'm.yaml:7:10: warning: module "m" is writable by anyone who can reach the daemon ("read only": false in daemons.d.options applies to it): set authUsers or hostsAllow',
    ]);
  });

  test.each([['"0"'], ["0"], ["root"]])("uid %s is root", (uid) => {
    const out = warnings(`version: 1\nusers:\n  u: { password: { env: P } }\ndaemons:\n  d:\n    uid: ${uid}\n    modules:\n      m: { path: /srv/m, readOnly: false, authUsers: [u] }\n`);
    expect(out).toEqual([
      'm.yaml:6:10: warning: module "m" is writable while the daemon runs as root without useChroot: a client can write outside /srv/m through symlinks',
    ]);
  });

  test("module options { uid: root } and a user with :rw on a read-only module", () => {
    expect(warnings("version: 1\nusers:\n  u: { password: { env: P } }\ndaemons:\n  d:\n    modules:\n      m:\n        path: /srv/m\n        authUsers: [\"u:rw\"]\n        options: { uid: root }\n")).toEqual([
      'm.yaml:10:25: warning: module "m" is writable while the daemon runs as root without useChroot: a client can write outside /srv/m through symlinks',
    ]);
  });

  test("use chroot from the module's options counts", () => {
    expect(warnings('version: 1\nusers:\n  u: { password: { env: P } }\ndaemons:\n  d:\n    uid: 0\n    modules:\n      m: { path: /srv/m, readOnly: false, authUsers: [u], options: { "use chroot": true } }\n')).toEqual([]);
  });

  test('hostsAllow ["*"] lets every host in: a warning, and it does not count as a host list', () => {
    expect(warnings('version: 1\ndaemons:\n  d:\n    hostsAllow: ["*"]\n    modules:\n      m: { path: /srv/m, readOnly: false }\n')).toEqual([
      'm.yaml:4:18: warning: hostsAllow "*" admits every host, the same as no hostsAllow: name the networks that may connect',
      'm.yaml:6:10: warning: module "m" is writable by anyone who can reach the daemon: set authUsers or hostsAllow',
    ]);
  });

  test("a read-only module with no auth and no hosts on the default 0.0.0.0 is readable by anyone", () => {
    expect(warnings("version: 1\ndaemons:\n  d:\n    modules:\n      m: { path: /srv/m }\n")).toEqual([
      'm.yaml:5:10: warning: module "m" is readable by anyone who can reach 0.0.0.0:873: set authUsers or hostsAllow, or bind address to a private interface',
    ]);
    expect(warnings("version: 1\ndaemons:\n  d:\n    address: 127.0.0.1\n    modules:\n      m: { path: /srv/m }\n")).toEqual([]);
    expect(warnings("version: 1\ndaemons:\n  d:\n    modules:\n      m: { path: /srv/m, writeOnly: true, hostsAllow: [10.0.0.0/8] }\n")).toEqual([]);
  });

  test("exec parameters are allowed and always warned about, saying as whom they run", () => {
    const text = [
      "version: 1",
      "daemons:",
      "  d:",
      "    address: 127.0.0.1",
      '    options: { "early exec": /usr/local/bin/mount-it }',
      "    modules:",
      "      m:",
      "        path: /srv/m",
      "        options:",
      '          "pre-xfer exec": /usr/local/bin/check',
      '          "post-xfer exec": /usr/local/bin/notify',
      '          "name converter": /usr/local/bin/names',
      "  e:",
      "    address: 127.0.0.2",
      '    options: { "daemon uid": rsyncd, "pre-xfer exec": /bin/true }',
      "",
    ].join("\n");
    expect(warnings(text)).toEqual([
      'm.yaml:5:30: warning: options."early exec" runs "/usr/local/bin/mount-it" as root on every connection to any module of daemon "d" (rsyncd starts it before it switches to the module\'s uid); keep the command, and all it reads, writable by root only',
      'm.yaml:10:28: warning: options."pre-xfer exec" runs "/usr/local/bin/check" as root on every connection to module "m" (rsyncd starts it before it switches to the module\'s uid); keep the command, and all it reads, writable by root only',
      'm.yaml:11:29: warning: options."post-xfer exec" runs "/usr/local/bin/notify" as root on every connection to module "m" (rsyncd starts it before it switches to the module\'s uid); keep the command, and all it reads, writable by root only',
      'm.yaml:12:29: warning: options."name converter" runs "/usr/local/bin/names" as root on every connection to module "m" (rsyncd starts it before it switches to the module\'s uid); keep the command, and all it reads, writable by root only',
      'm.yaml:15:55: warning: options."pre-xfer exec" runs "/bin/true" as the daemon uid "rsyncd" on every connection to any module of daemon "e"; keep the command, and all it reads, writable by root only',
    ]);
  });

  test("rsyncd ignores a parameter spelled with underscores: refused, not silently dropped", () => {
    expect(lines('version: 1\ndaemons:\n  d:\n    address: 127.0.0.1\n    options: { max_verbosity: 2, use_chroot: true, "Refuse  Options": delete }\n')).toEqual([
      'm.yaml:5:16: options."max_verbosity" is not an rsyncd.conf parameter (rsyncd would ignore it): write "max verbosity"',
      'm.yaml:5:34: options."use_chroot" is not an rsyncd.conf parameter (rsyncd would ignore it): use the manifest key useChroot',
    ]);
  });

  test("a config value naming a password's variable as %VAR% would show the password", () => {
    expect(lines('version: 1\nusers:\n  u: { password: { env: RSYNC_PW } }\ndaemons:\n  d:\n    address: 127.0.0.1\n    modules:\n      m: { path: /srv/m, comment: "%RSYNC_PW%", authUsers: [u] }\n')).toEqual([
      "m.yaml:8:35: comment must not name %RSYNC_PW%: rsyncd expands %VAR% from its environment, and RSYNC_PW holds the password of user \"u\"",
    ]);
  });
});

describe("secrets and names (issue 13)", () => {
  // rsync's authenticate.c: the daemon reads its secrets file with fgets() into 1024 bytes and cuts
  // each line at CR or LF; the client reads at most 511 bytes of its password file, cut the same
  // way. Nothing else is special: '#' only makes a comment at the start of a line, which always
  // starts with the user name.
  test.each(["#starts-with-hash", "semi;colon", "ends-with-backslash\\\\", "in#side", "tab\\there", "colon:inside"])("password { value: %j } is accepted", (pw) => {
    const r = parseManifest(`version: 1\nusers:\n  u:\n    password: { value: "${pw}" }\n`, "m.yaml");
    expect(r.ok ? [] : r.errors.map(formatIssue)).toEqual([]);
  });

  test("CR, LF, NUL, surrounding whitespace and length are what a password cannot have", () => {
    const long = "x".repeat(512);
    const out = lines(`version: 1\nusers:\n  a: { password: { value: " pw" } }\n  b: { password: { value: "pw\\r" } }\n  c: { password: { value: "${long}" } }\n`).filter((l) => !l.includes("warning"));
    expect(out).toEqual([
      "m.yaml:3:27: password must not start or end with whitespace (rsync would keep it as part of the password)",
      "m.yaml:4:27: password must not contain a line break or NUL (it would start a new secrets file line)",
      "m.yaml:5:27: password is 512 bytes; rsync reads at most 511 bytes of a password file, so it could never log in",
    ]);
  });

  test("a user name long enough to push user:password past rsyncd's 1023-byte line", () => {
    const name = "u".repeat(600);
    const out = lines(`version: 1\nusers:\n  ${name}: { password: { value: "${"p".repeat(500)}" } }\n`).filter((l) => !l.includes("warning"));
    expect(out).toEqual([
      `m.yaml:3:${name.length + 26}: the secrets line of user "${"u".repeat(600)}" is 1101 bytes; rsyncd reads 1022 bytes of a line and would read the rest as a line of its own`,
    ]);
  });

  test("{ env: NAME } must be a variable name, and the error never echoes what was written", () => {
    const out = lines('version: 1\nusers:\n  u: { password: { env: "hunter2 is my password" } }\n');
    expect(out).toEqual([
      "m.yaml:3:25: password env is not a valid environment variable name (letters, digits and _, not starting with a digit)",
    ]);
    expect(out.join("\n")).not.toContain("hunter2");
  });

  test.each([
    ['uid: "-D"', 'm.yaml:4:10: uid "-D" is not an account name (no account name starts with "-")'],
    ['uid: "-D"\n    createAccount: true', 'm.yaml:4:10: uid "-D" is not an account name useradd accepts: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters'],
    ["uid: Rsync\n    createAccount: true", 'm.yaml:4:10: uid "Rsync" is not an account name useradd accepts: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters'],
    ['uid: "1001"\n    createAccount: true', 'm.yaml:4:10: uid "1001" is not an account name useradd accepts: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters'],
    [`uid: ${"a".repeat(33)}\n    createAccount: true`, `m.yaml:4:10: uid "${"a".repeat(33)}" is not an account name useradd accepts: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters`],
    ["uid: rsync\n    gid: --help\n    createAccount: true", 'm.yaml:5:10: gid "--help" is not an account name groupadd accepts: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters'],
  ])("%s", (keys, message) => {
    expect(errorLines(`version: 1\ndaemons:\n  d:\n    ${keys}\n`)).toEqual([message]);
  });

  test.each(["uid: rsync\n    createAccount: true", "uid: rsync_backup$\n    createAccount: true", 'uid: "1001"\n    gid: "1001"', "uid: 33\n    gid: 33", "uid: Debian-exim"])("%s is fine", (keys) => {
    expect(errorLines(`version: 1\ndaemons:\n  d:\n    ${keys}\n`)).toEqual([]);
  });
});

describe("a file that is not a manifest is not quoted back", () => {
  test("an unknown key that is not a key name is shown by its length only (a symlink to /etc/shadow)", () => {
    const out = lines("version: 1\nroot:$6$SECRETHASH:19000:0:99999:7:::\nbackup: x\n");
    expect(out.join("\n")).not.toContain("SECRETHASH");
    expect(out.find((l) => l.startsWith("m.yaml:2:1: "))).toMatch(/^m\.yaml:2:1: unknown key \(\d+ characters, not shown: not a key name\) at the top level; expected one of: version, /);
    expect(out).toContain('m.yaml:3:1: unknown key "backup" at the top level; expected one of: version, name, stateDir, sysctl, sysctlFile, users, daemons, sshReceivers, watches');
  });
});
