#!/usr/bin/env bash
# Build the local Debian test images for portguard.ephemeral, without any
# container registry: debootstrap a minbase rootfs and `podman import` it.
#
# Usage: scripts/build-images.sh [bookworm|trixie|all]... [--VARIANT|--VARIANT-only]... [--tree-only] [--force] [--refresh]
#
#   bookworm|trixie|all  releases to build (default: all)
#   --VARIANT            also build that variant: systemd, sshd, tuned, sysvinit (below)
#   --VARIANT-only       build that variant, not the plain image
#   --tree-only          make the finished trees (.cache/debootstrap/<image>.*.rootfs.tar) and stop:
#                        no podman image (scripts/procps-root.sh uses the tuned tree as an oracle root)
#   --force              rebuild images that already exist (from the cache)
#   --refresh            also re-download the cached packages (implies --force)
#
# Images:
#   localhost/portguard-debian:<release>          python3, iproute2, procps
#   localhost/portguard-debian:<release>-systemd  + systemd, systemd-sysv, dbus
#   localhost/portguard-debian:<release>-sshd     + openssh-server, sshd -D -e as
#                                                 PID 1 (host keys made at build time;
#                                                 no authorized_keys: the user mounts one)
#   localhost/portguard-debian:<release>-tuned    -systemd + tuned (enabled), active profile
#                                                 portguard-test: only a [sysctl] section with
#                                                 per-namespace keys; every shipped profile removed
#   localhost/portguard-debian:<release>-sysvinit + sysvinit-core: sysvinit as PID 1, so
#                                                 /etc/init.d/procps runs `sysctl --system` at boot
# The -tuned and -sysvinit trees hold no sysctl file that sets a machine-wide key
# (the images' own /usr/lib/sysctl.d files are removed): their boot programs write
# only per-namespace keys in a privileged container.
#
# Idempotent: an existing image is kept (podman image exists).  Downloaded
# packages are kept in .cache/debootstrap/<image>.tar (debootstrap
# --make-tarball) and the finished tree in .cache/debootstrap/<image>.*.rootfs.tar,
# so a rebuild needs no network, and a removed image comes back in seconds.
# Must run as root.  Installs podman, runc, debootstrap with apt if missing.
# Uses tests/containers/containers.conf (CONTAINERS_CONF) for podman.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_dir=${PORTGUARD_IMAGE_CACHE:-$repo_root/.cache/debootstrap}
image_repo=localhost/portguard-debian
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo_root/tests/containers/containers.conf}

base_packages=python3,iproute2,procps
systemd_packages=systemd,systemd-sysv,dbus
sshd_packages=openssh-server
# polkitd (a tuned dependency) needs a logind; debootstrap does not pick one of the alternatives itself.
tuned_packages=tuned,libpam-systemd
sysvinit_packages=sysvinit-core

log() { printf '[build-images] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=scripts/lib.sh
. "$repo_root/scripts/lib.sh"
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

variants_known=(systemd sshd tuned sysvinit)
releases=() variants=() want_plain=1 tree_only=0 force=0 refresh=0
for arg in "$@"; do
  case $arg in
    bookworm|trixie) releases+=("$arg") ;;
    all) releases+=(bookworm trixie) ;;
    --systemd|--sshd|--tuned|--sysvinit) variants+=("${arg#--}") ;;
    --systemd-only|--sshd-only|--tuned-only|--sysvinit-only) v=${arg#--}; variants+=("${v%-only}"); want_plain=0 ;;
    --tree-only) tree_only=1 ;;
    --force) force=1 ;;
    --refresh) force=1 refresh=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done
[ ${#releases[@]} -gt 0 ] || releases=(bookworm trixie)
# shellcheck disable=SC2207
releases=($(printf '%s\n' "${releases[@]}" | awk '!seen[$0]++'))

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, rootful podman)"

ensure_tools() {
  local missing=0 cmd pkg
  for cmd in podman runc debootstrap; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
  done
  # netavark + aardvark-dns: podman's default network on bookworm.
  for pkg in netavark aardvark-dns debian-archive-keyring; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing=1
  done
  [ "$missing" = 0 ] && return 0
  log "installing podman, runc, debootstrap and friends with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman runc debootstrap uidmap fuse-overlayfs \
    slirp4netns netavark aardvark-dns debian-archive-keyring >/dev/null
}

keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# debian-archive-keyring 2023.3+deb12u2 and later (a 2025 bookworm update) carry the trixie
# archive keys; refuse to go on without them rather than skip the check.
check_keyring() {
  local release=$1
  [ -s "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"
  if [ ! -e "/usr/share/keyrings/debian-archive-$release-automatic.gpg" ]; then
    log "keyring has no $release archive key; upgrading debian-archive-keyring"
    apt-get update -qq
    apt-get install -y -qq debian-archive-keyring >/dev/null
    [ -e "/usr/share/keyrings/debian-archive-$release-automatic.gpg" ] \
      || die "no $release archive key in debian-archive-keyring $(dpkg-query -W -f='${Version}' debian-archive-keyring); install a newer one (e.g. from bookworm-updates or ${release})"
  fi
}

# customize_rootfs ROOTFS RELEASE VARIANT MIRROR: tidy the debootstrapped tree.
customize_rootfs() {
  local rootfs=$1 release=$2 variant=$3 mirror=$4 u
  printf 'deb %s %s main\n' "$mirror" "$release" > "$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/debootstrap
  # Let systemd create a fresh machine-id at first boot.
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  echo "portguard-$release" > "$rootfs/etc/hostname"
  if [ "$variant" = sshd ]; then
    # pam_loginuid cannot always set the login uid in a container; a
    # required failure there would close every session.
    sed -i 's/^session[[:space:]]\+required[[:space:]]\+pam_loginuid\.so/session optional pam_loginuid.so/' \
      "$rootfs/etc/pam.d/sshd"
  fi
  case $variant in tuned|sysvinit)
    # No machine-wide keys for the boot programs to write in a privileged container:
    # only per-namespace settings may stay (the tests add theirs).
    rm -f "$rootfs"/usr/lib/sysctl.d/*.conf "$rootfs"/lib/sysctl.d/*.conf "$rootfs"/etc/sysctl.d/*.conf
    ln -s ../sysctl.conf "$rootfs/etc/sysctl.d/99-sysctl.conf"
    grep -q '^[^#]' "$rootfs/etc/sysctl.conf" 2>/dev/null && die "$rootfs/etc/sysctl.conf sets keys"
    ;;
  esac
  if [ "$variant" = tuned ]; then
    customize_tuned "$rootfs"
  fi
  if [ "$variant" = sysvinit ]; then
    # No consoles in a container: gettys would respawn for ever.
    sed -i '/^[0-9]*:[0-9]*:respawn:.*getty/d' "$rootfs/etc/inittab"
    # podman stop sends SIGINT (the image's stop signal), init's ctrlaltdel: power the container off at
    # once. The shutdown scripts would remount the root read-only, which fails the restart.
    sed -i 's|^ca:\([0-9]*\):ctrlaltdel:.*|ca:\1:ctrlaltdel:/sbin/reboot -f|' "$rootfs/etc/inittab"
    grep -q '^ca:.*:/sbin/reboot -f$' "$rootfs/etc/inittab" || die "no ctrlaltdel line in the sysvinit inittab"
  fi
  if [ "$variant" = systemd ] || [ "$variant" = tuned ]; then
    # Units that only make sense on a real machine.  systemd-modules-load
    # fails in a container ("Failed to initialize libkmod context") and
    # would leave trixie's system "degraded".
    for u in getty.target console-getty.service systemd-firstboot.service \
             systemd-modules-load.service \
             systemd-udevd.service systemd-udev-trigger.service \
             systemd-networkd-wait-online.service; do
      ln -sf /dev/null "$rootfs/etc/systemd/system/$u"
    done
  fi
}

# customize_tuned ROOTFS: tuned may only ever apply a profile of per-namespace sysctls.
# Every shipped profile is removed (other plugins write machine-wide settings no
# namespace isolates, and without an active profile tuned would load the
# recommended one); the only profile left is portguard-test, which the scenario edits.
customize_tuned() {
  local rootfs=$1 dir
  for dir in "$rootfs"/usr/lib/tuned/*/ "$rootfs"/usr/lib/tuned/profiles/*/; do
    [ -f "$dir/tuned.conf" ] && rm -rf "$dir"
  done
  mkdir -p "$rootfs/etc/tuned/portguard-test"
  printf '%s\n' '[main]' 'summary=portguard tests: per-namespace sysctls only, no include' \
    '[sysctl]' 'net.ipv4.ip_local_port_range = 9000 65499' > "$rootfs/etc/tuned/portguard-test/tuned.conf"
  echo portguard-test > "$rootfs/etc/tuned/active_profile"
  echo manual > "$rootfs/etc/tuned/profile_mode"
  sed -i 's/^#* *dynamic_tuning *=.*/dynamic_tuning = 0/' "$rootfs/etc/tuned/tuned-main.conf"
  # What `systemctl enable tuned` does (its postinst's deb-systemd-helper leaves no link under debootstrap).
  mkdir -p "$rootfs/etc/systemd/system/multi-user.target.wants"
  ln -sf /lib/systemd/system/tuned.service "$rootfs/etc/systemd/system/multi-user.target.wants/tuned.service"
}

# build_image RELEASE VARIANT(plain|systemd|sshd|tuned|sysvinit)
#
# Three layers, each reused unless told otherwise:
#   podman image               kept unless --force
#   .cache/debootstrap/NAME.<recipe>.rootfs.tar
#                              the finished tree; re-imported in seconds.
#                              <recipe> hashes this function and
#                              customize_rootfs, so editing them rebuilds.
#                              Skipped by --force.
#   .cache/debootstrap/NAME.tar
#                              the .debs (debootstrap --make-tarball);
#                              rebuilding from it needs no network.
#                              Skipped by --refresh.
build_image() {
  local release=$1 variant=$2 tag include debs name rootfs rootfs_tar mirror
  local start cmd recipe old_id new_id stop=SIGTERM
  if [ "$variant" = systemd ]; then
    name=$release-systemd
    include=$base_packages,$systemd_packages
    cmd='["/sbin/init"]'
  elif [ "$variant" = tuned ]; then
    name=$release-tuned
    include=$base_packages,$systemd_packages,$tuned_packages
    cmd='["/sbin/init"]'
  elif [ "$variant" = sysvinit ]; then
    name=$release-sysvinit
    include=$base_packages,$sysvinit_packages
    cmd='["/sbin/init"]'
    # sysvinit ignores SIGTERM; SIGINT is its ctrlaltdel (reboot -f, see customize_rootfs): a second, not 10.
    stop=SIGINT
  elif [ "$variant" = sshd ]; then
    name=$release-sshd
    include=$base_packages,$sshd_packages
    # sshd in the foreground as PID 1 (exits on SIGTERM), logging to stderr.
    cmd='["/bin/sh","-c","mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e"]'
  else
    name=$release
    include=$base_packages
    # PID 1 that idles and exits on SIGTERM (plain sleep as PID 1 ignores it,
    # so podman stop/rm would wait 10 s and SIGKILL).
    cmd='["/bin/sh","-c","trap exit TERM INT; sleep infinity & wait"]'
  fi
  tag=$image_repo:$name
  debs=$cache_dir/$name.tar
  recipe=$( { declare -f build_image customize_rootfs customize_tuned; echo "$include $cmd $stop"; } \
            | sha256sum | cut -c1-12)
  rootfs_tar=$cache_dir/$name.$recipe.rootfs.tar

  if [ "$tree_only" = 1 ] && [ "$force" = 0 ] && [ -s "$rootfs_tar" ]; then
    log "$rootfs_tar exists"
    return 0
  fi
  if [ "$tree_only" = 0 ] && [ "$force" = 0 ] && podman image exists "$tag"; then
    log "$tag exists (use --force to rebuild)"
    return 0
  fi

  start=$(date +%s)
  mkdir -p "$cache_dir"
  # shellcheck disable=SC2064
  trap "rm -rf '$cache_dir'/rootfs.$name.* '$debs.tmp' '$rootfs_tar.tmp'" EXIT

  if [ "$force" = 1 ] || [ ! -s "$rootfs_tar" ]; then
    mirror=$(pg_debian_mirror)
    check_keyring "$release"
    rootfs=$(mktemp -d "$cache_dir/rootfs.$name.XXXXXX")
    local common=(--variant=minbase --include="$include" --keyring="$keyring"
                  --components=main "$release")
    if [ "$refresh" = 1 ] || [ ! -s "$debs" ]; then
      log "downloading $release packages ($include) from $mirror into $debs"
      rm -f "$debs.tmp"
      debootstrap --make-tarball="$debs.tmp" "${common[@]}" "$rootfs" "$mirror" >&2 \
        || die "debootstrap --make-tarball failed for $release"
      mv -f "$debs.tmp" "$debs"
      rm -rf "$rootfs"; mkdir -p "$rootfs"
    fi
    log "debootstrapping $name from $debs"
    debootstrap --unpack-tarball="$debs" "${common[@]}" "$rootfs" "$mirror" >&2 \
      || die "debootstrap failed for $release (see $rootfs/debootstrap/debootstrap.log)"
    customize_rootfs "$rootfs" "$release" "$variant" "$mirror"
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$rootfs_tar.tmp" .
    rm -rf "$rootfs"
    # Keep one rootfs tarball per image: drop those of older recipes.
    rm -f "$cache_dir/$name".*.rootfs.tar
    mv -f "$rootfs_tar.tmp" "$rootfs_tar"
  else
    log "reusing $rootfs_tar"
  fi

  if [ "$tree_only" = 1 ]; then
    trap - EXIT
    log "built $rootfs_tar in $(( $(date +%s) - start ))s (--tree-only: no image)"
    return 0
  fi
  log "importing $tag"
  old_id=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  new_id=$(podman import --quiet \
        --change "CMD $cmd" \
        --change "STOPSIGNAL $stop" \
        --change "ENV LANG=C.UTF-8" \
        --change "LABEL org.portguard.release=$release org.portguard.variant=$variant org.portguard.recipe=$recipe" \
        --message "portguard test image: debootstrap --variant=minbase --include=$include $release" \
        "$rootfs_tar" "$tag")
  # The tag moved to the new image; drop the old one unless a container
  # still uses it (never remove containers here).
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    podman image rm "$old_id" >/dev/null 2>&1 || true
  fi
  trap - EXIT
  log "built $tag in $(( $(date +%s) - start ))s"
}

ensure_tools
# One build at a time per cache (make -j, two shells).
mkdir -p "$cache_dir"
exec 9>"$cache_dir/.lock"
flock 9
for release in "${releases[@]}"; do
  if [ "$want_plain" = 1 ]; then build_image "$release" plain; fi
  for variant in "${variants_known[@]}"; do
    case " ${variants[*]-} " in *" $variant "*) build_image "$release" "$variant" ;; esac
  done
done
[ "$tree_only" = 1 ] || podman images --filter "reference=$image_repo" >&2
