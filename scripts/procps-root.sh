#!/usr/bin/env bash
# A Debian root file system whose procps `sysctl` (or tuned) the integration
# tests run (chrooted, inside private namespaces) as an oracle for
# `sysctl --system` (or for tuned's sysctl plugin).
#
# Usage: scripts/procps-root.sh RELEASE           (e.g. trixie)
#        scripts/procps-root.sh RELEASE-tuned     (e.g. bookworm-tuned: the tree of the
#                                                  image localhost/portguard-debian:RELEASE-tuned,
#                                                  made with scripts/build-images.sh --tree-only)
#
# Prints the root's path, .cache/procps-roots/NAME, on stdout.  Idempotent:
# an existing root is reused.  A RELEASE-tuned root comes from the image's finished
# tree (built when missing, sharing its downloaded packages with the image).
# A RELEASE root is made from, in this order:
#   1. a finished test-image tree: $PORTGUARD_IMAGE_CACHE/RELEASE.*.rootfs.tar
#      (scripts/build-images.sh; PORTGUARD_IMAGE_CACHE defaults to .cache/debootstrap)
#   2. the downloaded packages of one: $PORTGUARD_IMAGE_CACHE/RELEASE.tar
#      (debootstrap --unpack-tarball, no network)
#   3. debootstrap --variant=minbase --include=procps RELEASE from the Debian
#      mirror the machine's apt uses (DEBIAN_MIRROR overrides).
# Must run as root.  Debian packages only.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:?usage: procps-root.sh RELEASE[-tuned]}
release=${name%-tuned}
image_cache=${PORTGUARD_IMAGE_CACHE:-$repo_root/.cache/debootstrap}
roots=$repo_root/.cache/procps-roots
root=$roots/$name
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[procps-root] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
. "$repo_root/scripts/lib.sh"

case $release in *[!a-z]*|'') die "not a Debian release name: $release" ;; esac
tuned=0
[ "$name" = "$release" ] || tuned=1
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, numeric owners)"

usable() {
  { [ -x "$1/usr/sbin/sysctl" ] || [ -x "$1/sbin/sysctl" ]; } && { [ "$tuned" = 0 ] || [ -x "$1/usr/sbin/tuned" ]; }
}

mkdir -p "$roots"
exec 9>"$roots/.lock.$name"
flock 9
if [ -e "$root/.complete" ] && usable "$root"; then
  echo "$root"
  exit 0
fi

tmp=$(mktemp -d "$roots/.build.$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
trees=("$image_cache/$name".*.rootfs.tar)
if [ "$tuned" = 1 ]; then
  PORTGUARD_IMAGE_CACHE=$image_cache "$repo_root/scripts/build-images.sh" "$release" --tuned-only --tree-only >&2 \
    || die "cannot make the $name tree (scripts/build-images.sh $release --tuned-only --tree-only)"
  trees=("$image_cache/$name".*.rootfs.tar)
  [ ${#trees[@]} -gt 0 ] || die "scripts/build-images.sh made no $name tree in $image_cache"
fi
shopt -u nullglob
common=(--variant=minbase --include=procps --keyring="$keyring" --components=main "$release" "$tmp")
if [ ${#trees[@]} -gt 0 ]; then
  log "extracting ${trees[0]}"
  tar --numeric-owner -C "$tmp" -xf "${trees[0]}"
elif [ -s "$image_cache/$release.tar" ]; then
  command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install debootstrap"
  log "debootstrap $release from $image_cache/$release.tar"
  debootstrap --unpack-tarball="$image_cache/$release.tar" "${common[@]}" "$(pg_debian_mirror)" >&2 \
    || die "debootstrap failed (see $tmp/debootstrap/debootstrap.log)"
else
  command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install debootstrap"
  [ -e "/usr/share/keyrings/debian-archive-$release-automatic.gpg" ] \
    || die "no $release archive key in $keyring: upgrade debian-archive-keyring"
  log "debootstrap --variant=minbase --include=procps $release from $(pg_debian_mirror)"
  debootstrap "${common[@]}" "$(pg_debian_mirror)" >&2 \
    || die "debootstrap failed (see $tmp/debootstrap/debootstrap.log)"
fi
usable "$tmp" || die "the $name root has no sysctl (procps)$([ "$tuned" = 0 ] || echo ' or no tuned')"
rm -rf "$tmp/var/cache/apt/archives/"*.deb
chroot "$tmp" dpkg-query -W -f="\${Version}\n" procps > "$tmp/.procps-version" \
  || die "cannot read the procps version in the $release root"
touch "$tmp/.complete"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
log "$name root ready: procps $(cat "$root/.procps-version")"
echo "$root"
