#!/usr/bin/env bash
# Builds rtsync's container image from Containerfile with podman, where no image registry is
# reachable, and smoke-tests it. As root:
#
#   1. podman and debootstrap from Debian, when missing
#   2. the base: `debootstrap --variant=minbase bookworm` with the suites debian:bookworm-slim has
#      (updates, security: rsync 3.5.0), imported with `podman import` as
#      localhost/debian:bookworm-slim (kept between runs; RTSYNC_IMAGE_BASE=IMAGE uses an image
#      you have instead)
#   3. podman build --storage-driver vfs --isolation chroot (no overlay, no user namespaces needed)
#   4. the image's root file system, exported to a temporary directory, under chroot (podman run
#      needs what this machine may not give: crun setting rlimits): `rtsync --version`, and the
#      quick start with the image's own rtsync, rsync and inotify-tools
#
#   RTSYNC_IMAGE        the image's name (default localhost/rtsync:VERSION)
#   RTSYNC_IMAGE_CACHE  where the base and podman's storage live (default /var/tmp/rtsync-image)
#   RTSYNC_IMAGE_SAVE   also write the image as a docker-archive there (to load or push elsewhere)
#   RTSYNC_IMAGE_CA_DIR certificates (*.crt) the build stage's downloads trust besides Debian's
#                       (default /usr/local/share/ca-certificates, this host's own additions)
#
# podman's storage is its own (RTSYNC_IMAGE_CACHE/storage), not the machine's: push the image from
# it with `podman --root RTSYNC_IMAGE_CACHE/storage --storage-driver vfs push IMAGE REGISTRY/…`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "build-image: $* ($(($(date +%s) - started)) s)"; }
fail() { echo "build-image: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run it as root (debootstrap, podman's vfs storage, chroot)"

version="$(node -p 'require("./package.json").version')"
image="${RTSYNC_IMAGE:-localhost/rtsync:$version}"
cache="${RTSYNC_IMAGE_CACHE:-/var/tmp/rtsync-image}"
podman_() { podman --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs "$@"; }

need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  step "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p "$cache"

base="${RTSYNC_IMAGE_BASE:-}"
if [ -z "$base" ]; then
  base=localhost/debian:bookworm-slim
  if ! podman_ image exists "$base"; then
    if [ ! -f "$cache/bookworm-minbase.tar" ]; then
      step "debootstrap --variant=minbase bookworm"
      rm -rf "$cache/rootfs"
      debootstrap --variant=minbase bookworm "$cache/rootfs" >"$cache/debootstrap.log" 2>&1 || fail "debootstrap: $(tail -n 5 "$cache/debootstrap.log")"
      # The suites debian:bookworm-slim has: bookworm-security carries rsync 3.5.0 (bookworm's own
      # 3.2.7 is one rtsync runs no daemon with).
      printf '%s\n' "deb http://deb.debian.org/debian bookworm main" "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main" >"$cache/rootfs/etc/apt/sources.list"
      rm -rf "$cache/rootfs/var/cache/apt/archives/"*.deb "$cache/rootfs/var/lib/apt/lists/"*
      tar -C "$cache/rootfs" -cf "$cache/bookworm-minbase.tar.new" .
      mv "$cache/bookworm-minbase.tar.new" "$cache/bookworm-minbase.tar"
      rm -rf "$cache/rootfs"
    fi
    step "podman import the base as $base"
    podman_ import --change 'CMD ["/bin/bash"]' "$cache/bookworm-minbase.tar" "$base" >/dev/null
  fi
fi

step "podman build $image (base $base)"
revision="$(git rev-parse --short=12 HEAD 2>/dev/null || true)"
if [ -n "$revision" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then revision="$revision-dirty"; fi
# The build stage downloads Node, npm and rtsync's dependencies: it trusts what this host trusts
# besides Debian's CAs (RTSYNC_IMAGE_CA_DIR, default /usr/local/share/ca-certificates: a site's proxy).
ca_dir="${RTSYNC_IMAGE_CA_DIR:-/usr/local/share/ca-certificates}"
extra_ca="$(cat "$ca_dir"/*.crt 2>/dev/null || true)"
podman_ build --isolation chroot --pull=never -f Containerfile -t "$image" \
  --build-arg BASE="$base" --build-arg RTSYNC_REVISION="$revision" --build-arg EXTRA_CA_CERTS="$extra_ca" . >"$cache/build.log" 2>&1 || {
  tail -n 40 "$cache/build.log" >&2
  fail "podman build (log: $cache/build.log)"
}
podman_ image prune -f >/dev/null 2>&1 || true

step "smoke test: the image's root file system under chroot"
root="$(mktemp -d /tmp/rtsync-image-root-XXXXXX)"
chmod 0755 "$root"
container=""
cleanup() {
  if [ -f "$root/tmp/qs/rtsync.yaml" ]; then chroot "$root" /usr/local/bin/rtsync down /tmp/qs/rtsync.yaml >/dev/null 2>&1 || true; fi
  for m in dev/pts dev proc; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
  [ -n "$container" ] && podman_ rm -f "$container" >/dev/null 2>&1
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
container="$(podman_ create "$image")"
podman_ export "$container" | tar -x -C "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
chroot "$root" /usr/local/bin/rtsync --version | tee "$cache/version.txt"
grep -q "^rtsync $version (git ${revision:-.*}, built " "$cache/version.txt" || fail "rtsync --version in the image does not name commit $revision"
grep -q '^inotify addon: loaded (/usr/local/lib/node_modules/rtsync/build/Release/rtsync_inotify.node)' "$cache/version.txt" || fail "the image's rtsync does not load its addon"
grep -q '^rsync [0-9]' "$cache/version.txt" && grep -q '^inotifywait [0-9]' "$cache/version.txt" || fail "the image lacks rsync or inotifywait"
for tool in ssh git tini; do chroot "$root" sh -c "command -v $tool" >/dev/null || fail "the image has no $tool"; done
chroot "$root" env RTSYNC=/usr/local/bin/rtsync RTSYNC_QUICKSTART_DIR=/tmp/qs bash /usr/local/lib/node_modules/rtsync/scripts/quickstart.sh >"$cache/quickstart.log" 2>&1 || {
  cat "$cache/quickstart.log" >&2
  fail "the quick start in the image"
}
grep '^quickstart: the replica has: hello from rtsync' "$cache/quickstart.log" || fail "the quick start in the image did not replicate"
chroot "$root" /usr/local/bin/rtsync down /tmp/qs/rtsync.yaml >/dev/null
rm -f "$root/tmp/qs/rtsync.yaml"

# The entry point the DaemonSet runs.
entry="$(podman_ image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$image")"
[ "$entry" = '["/usr/bin/tini","--","/usr/local/bin/rtsync","agent"] ["/etc/rtsync/rtsync.yaml","--listen","0.0.0.0:9873"]' ] || fail "entry point: $entry"

if [ -n "${RTSYNC_IMAGE_SAVE:-}" ]; then
  step "saving $image to $RTSYNC_IMAGE_SAVE"
  podman_ save --format docker-archive -o "$RTSYNC_IMAGE_SAVE" "$image"
fi
size="$(podman_ image inspect --format '{{.Size}}' "$image")"
step "done: $image, $((size / 1024 / 1024)) MiB"
