#!/usr/bin/env bash
# Install the Debian packages `make test` needs, only those that are missing.
#
#   scripts/install-debian-deps.sh [EXTRA_PACKAGE...]
#   scripts/install-debian-deps.sh --only PACKAGE...   just these (make demo: iproute2 procps)
#
# Runs `apt-get update` once, and only when something has to be installed.
# Cheap when everything is there (one dpkg-query).  Needs root (or sudo).
#
# Why each package is here:
#   podman runc uidmap fuse-overlayfs slirp4netns iptables  molecule's podman driver / test containers
#   debootstrap                     building the test images' root file systems
#   iproute2 procps                 integration tests: network namespaces (ip netns), sysctl
#   (ShellCheck) shellcheck         ansible-test sanity "shellcheck" (skipped with a warning when absent)
#   git rsync                       scripts/collection-tree.sh
#   ca-certificates                 pip over TLS
#   openssh-client                  make bench's SSH part (ssh, ssh-keygen on the controller)
# Not installed here, on purpose: tuned and sysvinit-core. The tests run them only inside
# debootstrapped trees (scripts/build-images.sh --tuned / --sysvinit, scripts/procps-root.sh
# bookworm-tuned), because tuned's package enables a daemon that tunes the whole machine
# (and pulls in dbus and polkitd), and sysvinit-core would replace this machine's init.
set -euo pipefail

packages=(
    podman runc debootstrap iproute2 procps uidmap fuse-overlayfs slirp4netns iptables strace
    shellcheck git rsync ca-certificates openssh-client
)
if [ "${1:-}" = "--only" ]; then
    shift
    packages=()
fi
packages+=("$@")
if [ -n "${EXTRA_DEBIAN_PACKAGES:-}" ]; then
    read -r -a more <<<"$EXTRA_DEBIAN_PACKAGES"
    packages+=("${more[@]}")
fi

missing=()
for p in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-debian-deps: all ${#packages[@]} packages present"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-debian-deps: need root to install: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-debian-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# Recommends stay on: podman relies on some (buildah, catatonit, uidmap, ...).
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" </dev/null
echo "install-debian-deps: done"
