#!/usr/bin/env bash
# Smoke-check the images from scripts/build-images.sh on this machine:
#   a. a privileged plain container runs with runc and the conf's ulimits,
#      and python3 works in it;
#   b. /proc/sys/net/ipv4/ip_local_reserved_ports is writable there and
#      belongs to the container's own network namespace, with the default
#      podman network (netavark bridge) and with --network none;
#   c. the -systemd image applies /etc/sysctl.d at boot (systemd-sysctl):
#      a short list and a long one (every other port 1025..65535, ~189 KB)
#      come back in full after `podman restart`;
#   d. Ansible reaches a container with the containers.podman.podman
#      connection (ping, setup gather_subset=min), when $ANSIBLE or
#      .venv/bin/ansible exists.
# Every container it creates is removed; images are kept.
#
# Usage: tests/containers/check-images.sh [bookworm|trixie|all]
# Exit status 0 when every check passed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo_root/tests/containers/containers.conf}
image_repo=localhost/portguard-debian
case ${1:-all} in
  all) releases=(bookworm trixie) ;;
  bookworm|trixie) releases=("$1") ;;
  *) echo "usage: $0 [bookworm|trixie|all]" >&2; exit 2 ;;
esac

# Behave like a CI machine whose hard limits are nofile 1024, nproc 4096.
ulimit -n 1024 2>/dev/null || true
ulimit -u 4096 2>/dev/null || true

pass=0 fail=0 containers=()
ok()  { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
cleanup() { [ ${#containers[@]} -eq 0 ] || podman rm -f -t 0 "${containers[@]}" >/dev/null 2>&1 || true; }
trap cleanup EXIT

start() {  # start NAME ARGS... : podman run -d, remembered for cleanup
  local name=$1; shift
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  containers+=("$name")
  podman run -d --name "$name" --privileged "$@" >/dev/null
}
# Read a /proc/sys value in one read(): the kernel answers a read of
# ip_local_reserved_ports only at offset 0, so cat (128 KiB reads) or
# Python's open().read() (8 KiB) silently truncate a long value.
read_sysctl() { podman exec "$1" dd if="/proc/sys/$2" bs=1M count=1 status=none | tr -d '\n'; }
wait_booted() {  # systemd inside reached running/degraded
  local state
  for _ in $(seq 1 120); do
    state=$(podman exec "$1" systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) echo "$state"; return 0 ;; esac
    sleep 0.5
  done
  echo "timeout:$state"; return 1
}

ansible=${ANSIBLE:-$repo_root/.venv/bin/ansible}
[ -x "$ansible" ] || ansible=

host_netns=$(readlink /proc/self/ns/net)
host_reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
long_list=$(seq -s, 1025 2 65535)

for rel in "${releases[@]}"; do
  img=$image_repo:$rel
  sd_img=$image_repo:$rel-systemd

  # a + b: plain image, default network, then --network none.
  for net in default none; do
    c=pg-check-$rel-$net
    args=(); [ "$net" = none ] && args=(--network none)
    if ! start "$c" "${args[@]}" "$img"; then bad "$rel/$net: podman run"; continue; fi
    check "$rel/$net: runtime is runc" \
      test "$(podman inspect -f '{{.OCIRuntime}}' "$c")" = runc
    check "$rel/$net: python3 runs, nofile=1024:1024 nproc=4096:4096" \
      test "$(podman exec "$c" python3 -c 'import resource as r; print(r.getrlimit(r.RLIMIT_NOFILE), r.getrlimit(r.RLIMIT_NPROC))')" \
           = "(1024, 1024) (4096, 4096)"
    ns=$(podman exec "$c" readlink /proc/self/ns/net)
    check "$rel/$net: own netns ($ns != host $host_netns)" test "$ns" != "$host_netns"
    podman exec "$c" sh -c 'echo 36601,37601,38601 > /proc/sys/net/ipv4/ip_local_reserved_ports'
    check "$rel/$net: ip_local_reserved_ports writable" \
      test "$(read_sysctl "$c" net/ipv4/ip_local_reserved_ports)" = 36601,37601,38601
    check "$rel/$net: host value untouched" \
      test "$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)" = "$host_reserved"
    if [ -n "$ansible" ] && [ "$net" = default ]; then
      for mod in ansible.builtin.ping "ansible.builtin.setup -a gather_subset=min"; do
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086
        if "$ansible" -i "$c," -c containers.podman.podman \
             -e ansible_python_interpreter=/usr/bin/python3 all -m $mod >/dev/null 2>&1; then
          ok "$rel: ansible -m $mod ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
        else
          bad "$rel: ansible -m $mod"
        fi
      done
    fi
    podman rm -f -t 0 "$c" >/dev/null
  done

  # c: persistence across a reboot through systemd-sysctl.
  c=pg-check-$rel-systemd
  if ! start "$c" --systemd=always "$sd_img" /sbin/init; then bad "$rel/systemd: podman run"; continue; fi
  state=$(wait_booted "$c") || true
  check "$rel/systemd: booted ($state)" test "${state#timeout}" = "$state"
  for case in short long; do
    if [ "$case" = short ]; then want=36601,37601,38601; range="32768 60999"
    else want=$long_list; range="40000 60999"; fi
    printf 'net.ipv4.ip_local_reserved_ports = %s\nnet.ipv4.ip_local_port_range = %s\n' "$want" "$range" \
      | podman exec -i "$c" sh -c 'cat > /etc/sysctl.d/zz-test.conf'
    # A live value that differs from the file, so only the boot can fix it.
    podman exec "$c" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_local_reserved_ports; echo "50000 50100" > /proc/sys/net/ipv4/ip_local_port_range'
    podman restart "$c" >/dev/null
    wait_booted "$c" >/dev/null || true
    got=$(read_sysctl "$c" net/ipv4/ip_local_reserved_ports)
    check "$rel/systemd/$case: reserved ports back from sysctl.d after restart (${#got} of ${#want} bytes)" \
      test "$got" = "$want"
    check "$rel/systemd/$case: port range back from sysctl.d" \
      test "$(read_sysctl "$c" net/ipv4/ip_local_port_range)" = "${range/ /$'\t'}"
    check "$rel/systemd/$case: systemd-sysctl.service succeeded" \
      test "$(podman exec "$c" systemctl show -p ActiveState --value systemd-sysctl.service)" = active
  done
  podman rm -f -t 0 "$c" >/dev/null
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
