#!/usr/bin/env bash
# rtsync quick start: both ends of a replication on this machine, over loopback. Writes
# DIR/rtsync.yaml from examples/quickstart.yaml (an rsync daemon on 127.0.0.1:PORT, a watcher
# pushing DIR/source to it), applies it, writes a file and shows it on the replica.
#
#   RTSYNC_QUICKSTART_DIR   where everything goes (default /tmp/rtsync-quickstart)
#   RTSYNC_QUICKSTART_PORT  the daemon's port (default 18730; when that one is taken, a free one
#                           is picked; a DIR from an earlier run keeps its port)
#   RTSYNC                  the rtsync command (default: this clone's build, made here; from an
#                           installed package, the package's own)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${RTSYNC_QUICKSTART_DIR:-/tmp/rtsync-quickstart}"

need=()
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v inotifywait >/dev/null 2>&1 || need+=(inotify-tools)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "quickstart: please install ${need[*]} first: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "quickstart: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -n "${RTSYNC:-}" ]; then
  rtsync() { "$RTSYNC" "$@"; }
  shown="$RTSYNC"
elif [ -d "$here/src" ] && [ -f "$here/package-lock.json" ]; then
  # A clone: build it first.
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
  rtsync() { node "$here/dist/cli/bin.js" "$@"; }
  shown="node $here/dist/cli/bin.js"
else
  # An installed package (npm install -g): its own command.
  rtsync() { node "$here/dist/cli/bin.js" "$@"; }
  shown="rtsync"
fi

# Whether nothing listens on 127.0.0.1:$1 (bind it and let go).
port_free() {
  node -e 'const s = require("net").createServer(); s.once("error", () => process.exit(1)); s.listen({ host: "127.0.0.1", port: Number(process.argv[1]), exclusive: true }, () => s.close(() => process.exit(0)));' "$1"
}
# A port the kernel has free now.
any_free_port() {
  node -e 'const s = require("net").createServer(); s.listen({ host: "127.0.0.1", port: 0 }, () => { const p = s.address().port; s.close(() => console.log(p)); });'
}

port="${RTSYNC_QUICKSTART_PORT:-}"
if [ -z "$port" ] && [ -f "$dir/rtsync.yaml" ]; then
  # An earlier run's daemon may hold its port: keep it (apply leaves a running daemon alone).
  port="$(sed -n 's/^    port: \([0-9][0-9]*\)$/\1/p' "$dir/rtsync.yaml" | head -n 1)"
fi
if [ -z "$port" ]; then
  port=18730
  if ! port_free "$port"; then
    port="$(any_free_port)"
    echo "quickstart: port 18730 is taken; using $port (set RTSYNC_QUICKSTART_PORT to choose)"
  fi
fi
case "$port" in '' | *[!0-9]*) echo "quickstart: RTSYNC_QUICKSTART_PORT=$port is not a port number" >&2; exit 1 ;; esac
case "$dir" in /*) ;; *) echo "quickstart: RTSYNC_QUICKSTART_DIR=$dir must be an absolute path" >&2; exit 1 ;; esac

mkdir -p "$dir/source" "$dir/secrets"
chmod 0755 "$dir"
# The demo password, readable by its owner only (rtsync warns about a password file others can read).
install -m 0600 "$here/examples/secrets/demo.password" "$dir/secrets/demo.password"
sed -e "s|/tmp/rtsync-quickstart|$dir|g" -e "s|18730|$port|g" "$here/examples/quickstart.yaml" | grep -v '^# yaml-language-server' > "$dir/rtsync.yaml.new"
mv "$dir/rtsync.yaml.new" "$dir/rtsync.yaml"

rtsync validate "$dir/rtsync.yaml"
rtsync apply "$dir/rtsync.yaml"

echo "quickstart: writing $dir/source/hello.txt"
echo "hello from rtsync, $(date)" > "$dir/source/hello.txt"
# Wait for this content, not just the file: a replica kept from an earlier run has an older one.
for _ in $(seq 100); do
  cmp -s "$dir/source/hello.txt" "$dir/replica/hello.txt" && break
  sleep 0.1
done
echo "quickstart: the replica has: $(cat "$dir/replica/hello.txt" 2>/dev/null || echo '(nothing yet)')"
rtsync status "$dir/rtsync.yaml" || true
echo "quickstart: stop everything with: $shown down $dir/rtsync.yaml"
cmp -s "$dir/source/hello.txt" "$dir/replica/hello.txt"
