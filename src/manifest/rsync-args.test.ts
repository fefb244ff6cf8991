import { describe, expect, test } from "vitest";
import { ALLOWED_RSYNC_OPTIONS, rsyncArgProblem, rsyncArgsConflict } from "./rsync-args.ts";

// rsyncArgs is an allow-list (issue 13): each item is checked alone, as rsync's option parser
// (popt) would read it: long options exactly, short options letter by letter.

describe("allowed rsyncArgs", () => {
  test.each([
    "-z", "--compress", "--zc=zstd", "--compress-choice=lz4", "--zl=3", "--compress-level=-1", "--skip-compress=gz/zip/jpg",
    "--bwlimit=1000", "--bwlimit=1.5m", "--bwlimit=10MiB", "--timeout=100", "--contimeout=10", "--cc=xxh128", "--checksum-choice=md5,md5",
    "-c", "--checksum", "-A", "-X", "--acls", "--xattrs", "--numeric-ids", "--partial", "--partial-dir=.rsync-partial", "--inplace",
    "-H", "--hard-links", "-S", "--sparse", "-W", "--whole-file", "--no-perms", "--no-owner", "--no-group", "--chmod=Du+rwx,Fgo-w",
    "--chmod=F644,D755", "--chmod=ug-s", "-4", "-6", "--ipv4", "--ipv6", "--block-size=8192", "--max-size=2G", "--min-size=1k",
    "--modify-window=2", "-O", "--omit-dir-times", "-J", "--super", "--fake-super", "-x", "--one-file-system", "--safe-links",
    "--fsync", "--no-motd", "-zH", "-AXz",
  ])("%s", (arg) => {
    expect(rsyncArgProblem(arg)).toBeUndefined();
  });
});

describe("refused rsyncArgs say why, and which manifest key does the job", () => {
  test.each([
    ["--remove-source-files", "is not allowed: rsync would delete each source file once sent and the watcher would then delete the replica's copy, so both copies are lost"],
    ["--delete-excluded", "is not allowed: rtsync decides what is deleted (the listed paths on incremental runs, --delete-delay on full syncs); on an incremental run, where everything unlisted is excluded, it would delete the whole target"],
    ["--delete", "is not allowed: rtsync decides what is deleted (the listed paths on incremental runs, --delete-delay on full syncs)"],
    ["--del", "is not allowed: rtsync decides what is deleted (the listed paths on incremental runs, --delete-delay on full syncs)"],
    ["--max-delete=10", "is not allowed: use the watch's maxDelete: key (full syncs delete at most that many files)"],
    ["--exclude=*.tmp", "is not allowed: use the watch's exclude: key (it filters events too)"],
    ["--password-file=/etc/pw", "is not allowed: use users: and the target's user (rtsync writes the password file and passes it itself)"],
    ["-e", "has -e (--rsh), which is not allowed: rtsync runs ssh itself for ssh:// targets (a pinned host key, one connection per lane); give the key, host key and port in the target's ssh: settings"],
    ["--rsh=ssh", "is not allowed: rtsync runs ssh itself for ssh:// targets (a pinned host key, one connection per lane); give the key, host key and port in the target's ssh: settings"],
    ["--files-from=/x", "is not allowed: rtsync owns the file list (each incremental run is --from0 --include-from=- --exclude=*); use the watch's exclude: key"],
    ["--include-from=-", "is not allowed: rtsync owns the file list (each incremental run is --from0 --include-from=- --exclude=*); use the watch's exclude: key"],
    ["-0", "has -0 (--from0), which is not allowed: rtsync owns the file list (each incremental run is --from0 --include-from=- --exclude=*); use the watch's exclude: key"],
    ["--filter=- *", "is not allowed: rtsync owns the file list (each incremental run is --from0 --include-from=- --exclude=*); use the watch's exclude: key"],
    ["-n", "has -n (--dry-run), which is not allowed: nothing would be copied while status says synced"],
    ["--daemon", "is an rsync mode, not a transfer option: rtsync runs rsync itself"],
    ["--link-dest=/old", "is not allowed: rtsync passes --link-dest or --copy-dest itself for directory renames"],
    ["--log-file=/etc/cron.d/x", "is not allowed: rtsync reads rsync's output (--info=stats1) and keeps its own log (stateDir/watches/NAME/log.jsonl); rsync would append to that file as root wherever it points"],
    ["-v", "has -v (--verbose), which is not allowed: rtsync reads rsync's output (--info=stats1) and keeps its own log (stateDir/watches/NAME/log.jsonl)"],
    ["-avz", "has -a (--archive), which is already part of what rtsync passes (-a)"],
    ["-zv", "has -v (--verbose), which is not allowed: rtsync reads rsync's output (--info=stats1) and keeps its own log (stateDir/watches/NAME/log.jsonl)"],
    ["-P", "has -P (--progress), which is not allowed: use --partial (rtsync reads rsync's output itself)"],
    ["--append-verify", "is not allowed: the target would keep stale copies: rsync would skip files a full sync must repair (a file whose copy is as long as the source)"],
    ["-L", "has -L (--copy-links), which is not allowed: rsync would follow symlinks in the source as root and copy what they point to, which may lie outside the source (/etc/shadow)"],
    ["--early-input=/etc/shadow", "is not allowed: rsync would read that file as root and send it to the daemon"],
    ["--no-links", "is not allowed: it turns off part of what rtsync relies on"],
    ["--fuzzy", 'is not one of the rsync options rtsync allows in rsyncArgs (see docs/manifest.md, "Allowed rsyncArgs")'],
    ["--bogus", 'is not one of the rsync options rtsync allows in rsyncArgs (see docs/manifest.md, "Allowed rsyncArgs")'],
    ["-delete", 'has -d (--dirs), which is not allowed: changes which paths rsync sends; rtsync builds the list of paths itself'],
    ["-zQ", 'has -Q, which is not one of the rsync options rtsync allows in rsyncArgs (see docs/manifest.md, "Allowed rsyncArgs")'],
  ])("%s", (arg, why) => {
    expect(rsyncArgProblem(arg)).toBe(why);
  });
});

describe("one item is one argument", () => {
  test("an option's value belongs in the same item: --bwlimit=1000, not ['--bwlimit', '1000']", () => {
    expect(rsyncArgProblem("--bwlimit")).toBe("needs its value in the same item: --bwlimit=RATE (each item is one argument)");
    expect(rsyncArgProblem("1000")).toBe("is not an option: rsyncArgs holds options only (a path would become one more source)");
    expect(rsyncArgProblem("-B1024")).toBe('has -B, which takes a value: write it as one item, "--block-size=…"');
  });

  test.each([
    ["/etc", "is not an option: rsyncArgs holds options only (a path would become one more source)"],
    ["--", "is not allowed: it ends rsync's options, so what rtsync adds after it (excludes, the file list) would be read as paths"],
    ["--compress=yes", "takes no value"],
    ["--bwlimit=fast", 'value "fast" must be a rate such as 1000, 1.5m or 10M'],
    ["--timeout=-1", 'value "-1" must be a number of seconds'],
    ["--partial-dir=/etc", 'value "/etc" must be relative (it is created inside each target directory; an absolute one is written as root wherever it points)'],
    ["--partial-dir=../x", "value \"../x\" must not contain '..' (it would leave the target)"],
    ["--chmod=u+s", 'value "u+s" may not add setuid or setgid'],
    ["--chmod=Du+rwx,Fg=rxs", 'value "Du+rwx,Fg=rxs" may not add setuid or setgid (Fg=rxs)'],
    ["--chmod=F4755", 'value "F4755" may not set setuid or setgid'],
    ["--chmod=a+q", 'value "a+q" is not chmod syntax like Du+rwx,Fgo-w or F644'],
  ])("%s", (arg, why) => {
    expect(rsyncArgProblem(arg)).toBe(why);
  });
});

test("two allowed items that rsync refuses together: --inplace and --partial-dir", () => {
  expect(rsyncArgsConflict(["--inplace", "-z", "--partial-dir=.p"])).toEqual({
    index: 2,
    message: 'rsyncArgs item "--partial-dir=.p" cannot go with "--inplace": rsync refuses --inplace together with --partial-dir',
  });
  expect(rsyncArgsConflict(["--inplace", "--partial"])).toBeUndefined();
});

test("the manifest reference's table lists every allowed option with the same reason", async () => {
  const { readFile } = await import("node:fs/promises");
  const readme = await readFile(new URL("../../docs/manifest.md", import.meta.url), "utf8");
  for (const o of ALLOWED_RSYNC_OPTIONS) {
    const names = [...(o.short ? [`-${o.short}`] : []), ...o.long.map((n) => `--${n}${o.value ? `=${o.value.meta}` : ""}`)];
    expect(readme).toContain(`| ${names.map((n) => `\`${n}\``).join(", ")} | ${o.why} |`);
  }
});
