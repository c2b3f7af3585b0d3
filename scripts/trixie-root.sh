#!/usr/bin/env bash
# A Debian 13 (trixie) root file system used as a chroot: the Python 3.13
# controller for ansible-core 2.20 and later (they need Python >= 3.12; the
# machine's Python is 3.11).
#
#   scripts/trixie-root.sh build          make .cache/trixie-root (idempotent)
#   scripts/trixie-root.sh run CMD...     run CMD inside it (builds it first if needed)
#   scripts/trixie-root.sh path           print the root's path
#
# build: debootstrap --variant=minbase trixie with the packages in $packages
# below, from the Debian mirror the machine's apt uses (DEBIAN_MIRROR
# overrides).  The downloaded .debs stay in .cache/debootstrap/trixie-root-debs
# (debootstrap --cache-dir), so a rebuild downloads nothing.  A stamp inside the
# root records the recipe; changing the package list rebuilds it.
#
# run: in a private mount namespace (unshare --mount --propagation private:
# nothing mounted here is seen by the machine, and everything is gone when the
# command ends, also when it is killed) bind /proc, /sys, /dev, /dev/pts, this
# checkout, /tmp and /root/.ansible/tmp (the same paths inside as outside, so
# .cache/, .build/, the venvs and Ansible's local temporary files have one path
# in both views), the git directory of a worktree (read-only), and the local
# package directories the machine's pip configuration names (read-only); /run
# is a fresh tmpfs; /etc/resolv.conf, the pip
# configuration files and the locally added CA certificates
# (/usr/local/share/ca-certificates) are copied in, so pip inside uses the same
# index, through the same proxy, as outside.  HOME is the root's /root.  Environment: PATH is reset to the
# root's, the rest is passed through.
#
# podman inside: /usr/local/bin/podman is a wrapper that runs the machine's own
# podman in the machine's mount namespace (nsenter --mount=/proc/PID/ns/mnt,
# PID = this script's process, which waits outside for the command), in the
# same working directory.  So containers, images and storage are the machine's,
# driven by the machine's podman, and every path under this checkout means the
# same file to both.  `podman mount` is refused: the overlay it would return
# is mounted in the machine's namespace, invisible in here (the
# containers.podman connection plugin then copies with `podman cp`).
#
# Must run as root.
set -euo pipefail

root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
trixie=${PORTGUARD_TRIXIE_ROOT:-$root_dir/.cache/trixie-root}
debs=$root_dir/.cache/debootstrap/trixie-root-debs
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# python3-venv: ensurepip (venvs, ansible-test's pip bootstrap); shellcheck:
# ansible-test sanity; iproute2/procps/util-linux/mount: the integration
# tests' network namespaces; git, rsync: scripts/collection-tree.sh, ansible-lint
# and ansible-test file discovery.
packages=python3,python3-venv,ca-certificates,iproute2,procps,util-linux,mount,shellcheck,git,rsync
recipe_rev=1

log() { printf '[trixie-root] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"

# The Debian mirror the machine's apt uses (first non-security http(s) URI).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri="" f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) print $i }
               $1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) { print $i; break } }' "$f" \
          | grep -E '^https?://' | grep -v -- '-security' | grep -E '/debian/?$' | head -n1 || true)
    [ -n "$uri" ] && break
  done
  echo "${uri:-http://deb.debian.org/debian}"
}

recipe() { printf '%s %s\n' "$packages" "$recipe_rev" | sha256sum | cut -c1-16; }

# Refuse to delete a tree that has anything mounted under it (in this namespace).
assert_unmounted() {
  if awk -v r="$trixie" '$5 == r || index($5, r "/") == 1 { found=1 } END { exit !found }' /proc/self/mountinfo; then
    die "something is mounted under $trixie; not touching it"
  fi
}

# Files in the root are replaced atomically (write a temporary file, rename):
# another `run` may be using them right now.
install_file() {  # install_file SOURCE DEST MODE
  cp "$1" "$2.tmp.$$" && chmod "$3" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
}

write_podman_wrapper() {
  local tmp="$trixie/usr/local/bin/.podman.$$"
  cat > "$tmp" <<'SH'
#!/bin/sh
# Written by scripts/trixie-root.sh: run the machine's podman in the machine's
# mount namespace, from the same working directory (see that script).
if [ -z "${PORTGUARD_HOST_MNTNS:-}" ] || [ ! -e "$PORTGUARD_HOST_MNTNS" ]; then
    echo "podman (trixie-root wrapper): PORTGUARD_HOST_MNTNS is not set or gone; enter with scripts/trixie-root.sh run" >&2
    exit 125
fi
for arg in "$@"; do
    case $arg in
        -*) ;;
        mount|unshare) echo "podman (trixie-root wrapper): 'podman $arg' is not available from the chroot" >&2; exit 125 ;;
        *) break ;;
    esac
done
exec nsenter --mount="$PORTGUARD_HOST_MNTNS" -- /bin/sh -c 'cd "$0" 2>/dev/null || cd /; exec podman "$@"' "$PWD" "$@"
SH
  if cmp -s "$tmp" "$trixie/usr/local/bin/podman"; then rm -f "$tmp"; return 0; fi
  chmod 755 "$tmp" && mv -f "$tmp" "$trixie/usr/local/bin/podman"
}

# Cheap and idempotent, run on every `run`: the podman wrapper, and the
# sysctl paths the integration tests bind their lab's tree over
# (tests/integration/nslab.py), which a minbase trixie lacks.
customize() {
  write_podman_wrapper
  mkdir -p "$trixie/etc/sysctl.d" "$trixie/usr/lib/sysctl.d" "$trixie/usr/local/lib/sysctl.d"
  [ -e "$trixie/etc/sysctl.conf" ] || : > "$trixie/etc/sysctl.conf"
}

build() {
  local want have mirror start tmp
  want=$(recipe)
  have=$(cat "$trixie/etc/portguard-trixie-root" 2>/dev/null || true)
  if [ -x "$trixie/usr/bin/python3" ] && [ "$want" = "$have" ]; then
    return 0
  fi
  exec 8>"$root_dir/.cache/trixie-root.lock"
  flock 8
  have=$(cat "$trixie/etc/portguard-trixie-root" 2>/dev/null || true)
  if [ -x "$trixie/usr/bin/python3" ] && [ "$want" = "$have" ]; then
    return 0
  fi
  start=$(date +%s)
  command -v debootstrap >/dev/null || die "debootstrap missing (make deps)"
  [ -e /usr/share/keyrings/debian-archive-trixie-automatic.gpg ] || {
    log "upgrading debian-archive-keyring for the trixie archive key"
    apt-get update -qq && apt-get install -y -qq debian-archive-keyring >/dev/null
  }
  mirror=$(debian_mirror)
  assert_unmounted
  tmp="$trixie.tmp"
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp" "$debs"
  log "debootstrap trixie ($packages) from $mirror into $trixie"
  if ! debootstrap --variant=minbase --include="$packages" --keyring="$keyring" --components=main \
         --cache-dir="$debs" trixie "$tmp" "$mirror" > "$tmp.log" 2>&1; then
    tail -n 20 "$tmp.log" >&2
    die "debootstrap failed (see $tmp.log and $tmp/debootstrap/debootstrap.log)"
  fi
  rm -f "$tmp.log"
  printf 'deb %s trixie main\n' "$mirror" > "$tmp/etc/apt/sources.list"
  rm -f "$tmp"/var/cache/apt/archives/*.deb
  if [ -e "$trixie" ]; then
    rm -rf --one-file-system "$trixie"
  fi
  mv "$tmp" "$trixie"
  customize
  echo "$want" > "$trixie/etc/portguard-trixie-root"
  log "built $trixie in $(( $(date +%s) - start ))s ($("$trixie/usr/bin/python3" -V 2>/dev/null || chroot "$trixie" python3 -V))"
}

# Files and directories named in the machine's pip configuration, for `run`.
pip_files() {
  local f
  for f in /etc/pip.conf /root/.config/pip/pip.conf /root/.pip/pip.conf ${PIP_CONFIG_FILE:-}; do
    [ -f "$f" ] && echo "$f"
  done
  return 0
}
pip_local_dirs() {
  { pip_files | xargs -r cat; env | grep '^PIP_' || true; } \
    | grep -oE '(file://)?/[^ ,;"'"'"']+' | sed 's|^file://||' \
    | while read -r p; do
        [ -d "$p" ] && echo "$p"
        # an index URL names .../simple; bind its parent (files/ next to it)
        [ -d "$p" ] && [ "$(basename "$p")" = simple ] && dirname "$p"
      done | sort -u
  return 0
}

# The machine's locally added CA certificates (/usr/local/share/ca-certificates,
# e.g. a proxy's) are trusted inside too: copied in, update-ca-certificates.
sync_local_cas() {
  local src=/usr/local/share/ca-certificates dst="$trixie/usr/local/share/ca-certificates" want have
  want=$( { cd "$src" 2>/dev/null && find . -type f -print0 | sort -z | xargs -0r sha256sum; } | sha256sum | cut -c1-16)
  have=$(cat "$trixie/etc/portguard-local-cas" 2>/dev/null || true)
  [ "$want" != "$have" ] || return 0
  rm -rf "$dst"; mkdir -p "$dst"
  [ -d "$src" ] && cp -a "$src/." "$dst/"
  chroot "$trixie" update-ca-certificates --fresh >/dev/null 2>&1 || die "update-ca-certificates failed in $trixie"
  echo "$want" > "$trixie/etc/portguard-local-cas"
}

run() {
  [ $# -gt 0 ] || die "run: no command"
  build
  local git_common="" binds=() f d
  if git -C "$root_dir" rev-parse --git-common-dir >/dev/null 2>&1; then
    git_common=$(cd "$root_dir" && cd "$(git rev-parse --git-common-dir)" && pwd)
    case $git_common in "$root_dir"/*) git_common="" ;; esac
  fi
  for d in $(pip_local_dirs); do binds+=("$d"); done
  customize
  [ -d /root/.ansible/tmp ] || install -d -m 700 /root/.ansible/tmp
  [ ! -f /etc/resolv.conf ] || install_file /etc/resolv.conf "$trixie/etc/resolv.conf" 644
  sync_local_cas
  for f in $(pip_files); do
    mkdir -p "$trixie$(dirname "$f")"
    install_file "$f" "$trixie$f" 644
  done
  # This process stays outside, in the machine's mount namespace; the podman
  # wrapper inside enters it through /proc/$$/ns/mnt.
  # shellcheck disable=SC2016  # the inner script expands its own variables
  PORTGUARD_HOST_MNTNS=/proc/$$/ns/mnt \
  PORTGUARD_TRIXIE=$trixie PORTGUARD_ROOT=$root_dir PORTGUARD_GIT_COMMON=$git_common \
  PORTGUARD_RO_BINDS="${binds[*]}" \
  unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
    t=$PORTGUARD_TRIXIE
    # the root must be a mount point of its own (ip netns exec runs
    # mount --make-rslave /, which fails on a plain directory)
    mount --bind "$t" "$t"
    mount -t proc proc "$t/proc"
    mount --rbind /sys "$t/sys"
    mount --rbind /dev "$t/dev"
    mount -t tmpfs -o mode=755 tmpfs "$t/run"
    mount --bind /tmp "$t/tmp"
    mkdir -p "$t/root/.ansible/tmp"
    mount --bind /root/.ansible/tmp "$t/root/.ansible/tmp"
    mkdir -p "$t$PORTGUARD_ROOT"
    mount --bind "$PORTGUARD_ROOT" "$t$PORTGUARD_ROOT"
    for d in $PORTGUARD_GIT_COMMON $PORTGUARD_RO_BINDS; do
      mkdir -p "$t$d"
      mount --bind "$d" "$t$d"
      mount -o remount,bind,ro "$t$d"
    done
    cd "$t$PWD" 2>/dev/null || cd "$t$PORTGUARD_ROOT"
    wd=${PWD#"$t"}
    exec chroot "$t" /usr/bin/env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$wd" "$@"
  ' portguard-trixie "$@"
}

main() {
  case ${1:-} in
    build) build ;;
    path) echo "$trixie" ;;
    run) shift; run "$@" ;;
    *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
  esac
}
# One line: bash has read it whole before `run` starts, so a checkout that
# changes this file during a long run cannot make it read on into the new text.
main "$@"; exit $?
