#!/usr/bin/env bash
# The release as a user gets it, checked on this machine (CI calls it before the test suite):
#
#   1. npm pack (prepack builds dist/, with the commit baked into dist/build-info.json)
#   2. npm install -g of the tarball into a temporary root, at the documented prefix
#      (ROOT/usr/local: the unit's /usr/local/bin/rtsync); the addon is built at install
#   3. rtsync --version from the installed command: this commit, the addon loaded
#   4. the quick start (the package's own scripts/quickstart.sh) against the installed command
#   5. systemd-analyze verify --root=ROOT of the unit file the package installed, unrewritten
#   6. the same install with the compiler hidden (CXX=false CC=false): it succeeds and says which
#      watcher will run, `rtsync --version` says the addon is not loaded, and binding.test.ts
#      (run on a copy of src/ that sees that install's reason) skips with it.
#
# Everything goes under one temporary directory, removed at the end; the quick start is taken
# down with `rtsync down`. Network: the npm registry (the package's dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
started=$(date +%s)
step() { echo "ci-release: $* ($(($(date +%s) - started)) s)"; }
fail() { echo "ci-release: FAILED: $*" >&2; exit 1; }

work="$(mktemp -d /tmp/rtsync-release-XXXXXX)"
chmod 0755 "$work" # the quick start's stateDir lies below it: root's, not group/other-writable
bin="$work/root/usr/local/bin/rtsync"
cleanup() {
  if [ -f "$work/qs/rtsync.yaml" ] && [ -x "$bin" ]; then "$bin" down "$work/qs/rtsync.yaml" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

step "npm pack"
tarball="$work/$(npm pack --silent --pack-destination "$work" 2>/dev/null | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack made no tarball"
version="$(node -p 'require("./package.json").version')"
[ "$(basename "$tarball")" = "rtsync-$version.tgz" ] || fail "npm pack made $(basename "$tarball"), not rtsync-$version.tgz"

install_to() { # ROOT [env...]: npm install -g of the tarball with prefix ROOT/usr/local; its output in ROOT.log
  local root="$1"
  shift
  mkdir -p "$root/usr/local"
  env "$@" npm install -g --prefix "$root/usr/local" --foreground-scripts --no-audit --no-fund --loglevel=error "$tarball" >"$root.log" 2>&1 || {
    cat "$root.log" >&2
    fail "npm install -g $(basename "$tarball") into $root/usr/local"
  }
}

step "npm install -g --prefix ROOT/usr/local $(basename "$tarball")"
install_to "$work/root"
grep -q '^rtsync: inotify addon built' "$work/root.log" || fail "the install did not build the addon: $(grep '^rtsync:' "$work/root.log")"
[ -x "$bin" ] || fail "no executable $bin after the install"

step "rtsync --version"
"$bin" --version | tee "$work/version.txt"
head="$(git rev-parse --short=12 HEAD 2>/dev/null || true)"
if [ -n "$head" ]; then
  grep -q "^rtsync $version (git $head\(-dirty\)\?, built " "$work/version.txt" || fail "rtsync --version does not name commit $head"
fi
grep -q '^inotify addon: loaded (' "$work/version.txt" || fail "the installed rtsync does not load its addon"
grep -q '^rsync [0-9]' "$work/version.txt" || fail "rtsync --version found no rsync"

step "the quick start against the installed command"
RTSYNC="$bin" RTSYNC_QUICKSTART_DIR="$work/qs" bash "$work/root/usr/local/lib/node_modules/rtsync/scripts/quickstart.sh" >"$work/qs.log" 2>&1 || {
  cat "$work/qs.log" >&2
  fail "the quick start"
}
grep '^quickstart: the replica has: hello from rtsync' "$work/qs.log" || fail "the quick start did not replicate: $(cat "$work/qs.log")"
"$bin" down "$work/qs/rtsync.yaml" >/dev/null

step "systemd-analyze verify of the installed unit"
root="$work/root"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/bin"
cp "$root/usr/local/lib/node_modules/rtsync/examples/systemd/rtsync-agent.service" "$root/etc/systemd/system/"
# What the unit refers to beyond rtsync: the system's units it is ordered after, ExecReload's /bin/kill.
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$(type -P kill)" "$root/bin/kill"
verify="$(systemd-analyze verify --root="$root" rtsync-agent.service 2>&1)" || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify: $verify"

step "npm install -g with the compiler hidden (CXX=false CC=false)"
install_to "$work/nocc" CXX=false CC=false
line="$(grep '^rtsync: inotify addon not built (' "$work/nocc.log")" || fail "the install without a compiler did not say the addon was not built: $(cat "$work/nocc.log")"
echo "$line"
case "$line" in *"; watches will use inotifywait ("*|*"; watches will use chokidar ("*) ;; *) fail "the install does not say which watcher will run: $line" ;; esac
"$work/nocc/usr/local/bin/rtsync" --version | tee "$work/nocc-version.txt"
grep -q '^inotify addon: not loaded (node-gyp rebuild failed: ' "$work/nocc-version.txt" || fail "rtsync --version does not say the addon is not loaded"

step "binding.test.ts where the addon was not built"
# A copy of the sources beside that install's reason (build/inotify-addon-error.txt); this
# checkout's own addon stays where it is.
copy="$work/src-copy"
mkdir -p "$copy/build" "$copy/test/helpers"
cp -r src package.json tsconfig.json vitest.config.ts "$copy/"
cp test/helpers/summary-reporter.ts "$copy/test/helpers/"
ln -s "$repo/node_modules" "$copy/node_modules"
cp "$work/nocc/usr/local/lib/node_modules/rtsync/build/inotify-addon-error.txt" "$copy/build/"
(cd "$copy" && npx vitest run src/watch/sources/inotify/binding.test.ts) >"$work/binding.log" 2>&1 || {
  cat "$work/binding.log" >&2
  fail "binding.test.ts without the addon"
}
grep '^skipped: .*: the inotify addon is not built here: node-gyp rebuild failed: ' "$work/binding.log" || fail "binding.test.ts did not skip with the reason: $(cat "$work/binding.log")"
grep -q '^tests: [1-9][0-9]* passed, 0 failed, [1-9][0-9]* skipped$' "$work/binding.log" || fail "binding.test.ts: $(tail -n 1 "$work/binding.log")"

step "done"
