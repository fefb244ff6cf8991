#!/usr/bin/env bash
# rtsync quick start: installs what is missing, builds rtsync, and runs examples/quickstart.yaml —
# an rsync daemon on 127.0.0.1:18730 and a watcher pushing /tmp/rtsync-quickstart/source to it.
set -euo pipefail
cd "$(dirname "$0")/.."

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

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
rtsync() { node dist/cli/bin.js "$@"; }

mkdir -p /tmp/rtsync-quickstart/source
rtsync validate examples/quickstart.yaml
rtsync apply examples/quickstart.yaml

echo "quickstart: writing /tmp/rtsync-quickstart/source/hello.txt"
echo "hello from rtsync, $(date)" > /tmp/rtsync-quickstart/source/hello.txt
# Wait for this content, not just the file: a replica kept from an earlier run has an older one.
for _ in $(seq 50); do
  cmp -s /tmp/rtsync-quickstart/source/hello.txt /tmp/rtsync-quickstart/replica/hello.txt && break
  sleep 0.1
done
echo "quickstart: the replica has: $(cat /tmp/rtsync-quickstart/replica/hello.txt 2>/dev/null || echo '(nothing yet)')"
rtsync status examples/quickstart.yaml || true
echo "quickstart: stop everything with: node dist/cli/bin.js down examples/quickstart.yaml"
