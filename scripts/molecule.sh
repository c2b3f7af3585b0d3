#!/usr/bin/env bash
# Run the molecule scenarios of portguard.ephemeral in local podman containers.
#
# Usage: scripts/molecule.sh [SCENARIO|all]... [--distro bookworm|trixie|all] [--no-build] [-- MOLECULE_TEST_ARGS...]
#
#   SCENARIO   default, fleet, reboot, check_mode, bad_input, coexist (molecule/<name>/); all (the default) runs each
#   --distro   Debian release of the instances: bookworm (default), trixie, or all (both, one after the other)
#   --no-build do not build missing images (inside scripts/controller.sh: `make molecule` builds them outside)
#   -- ARGS    passed to `molecule test` (e.g. -- --destroy=never to keep the instances)
#
# For each release and scenario it runs
#   molecule test -s SCENARIO
# (molecule reads the shared base config .config/molecule/config.yml by itself)
# with PORTGUARD_DISTRO=<release>, CONTAINERS_CONF=tests/containers/containers.conf,
# ANSIBLE_COLLECTIONS_PATH resolving portguard.ephemeral to this checkout, and
# MOLECULE_EPHEMERAL_DIRECTORY=.cache/molecule/<release>/<scenario>.
# Missing images are built first (scripts/build-images.sh; existing ones are kept).
# Every scenario runs even when an earlier one failed. Ends with a table of
# times and a line "==== molecule: N passed, M failed in Ss ===="; exit status 1 if any failed.
# Must run as root (rootful podman). VENV=<dir> picks another tool venv (default .venv).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${VENV:-${PORTGUARD_VENV:-$root/.venv}}
known=(default fleet reboot check_mode bad_input coexist)

log() { printf '[molecule.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

scenarios=() distros=() extra=() build=1
while [ $# -gt 0 ]; do
  case $1 in
    --distro) [ $# -ge 2 ] || die "--distro needs a value"; distros+=("$2"); shift 2 ;;
    --distro=*) distros+=("${1#--distro=}"); shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    all) scenarios+=("${known[@]}"); shift ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) [ -f "$root/molecule/$1/molecule.yml" ] || die "no scenario molecule/$1/molecule.yml"
       scenarios+=("$1"); shift ;;
  esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=("${known[@]}")
[ ${#distros[@]} -gt 0 ] || distros=(bookworm)
expanded=()
for d in "${distros[@]}"; do
  case $d in
    all) expanded+=(bookworm trixie) ;;
    bookworm|trixie) expanded+=("$d") ;;
    *) die "--distro must be bookworm, trixie or all, not '$d'" ;;
  esac
done
# shellcheck disable=SC2207
distros=($(printf '%s\n' "${expanded[@]}" | awk '!seen[$0]++'))
# shellcheck disable=SC2207
scenarios=($(printf '%s\n' "${scenarios[@]}" | awk '!seen[$0]++'))

[ "$(id -u)" = 0 ] || die "must run as root (rootful podman, privileged containers)"
[ -x "$venv/bin/molecule" ] || die "$venv/bin/molecule missing: make venv (or VENV=<dir>)"

export PATH=$venv/bin:$PATH
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/tests/containers/containers.conf}
# portguard.ephemeral resolves to THIS checkout (a copy elsewhere gets its own link).
pg_link_collection "$root" "$root/.cache/collections"
export ANSIBLE_COLLECTIONS_PATH=$PG_COLLECTIONS${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}
# The scenarios live in molecule/ at the collection root (not extensions/molecule).
export MOLECULE_GLOB='molecule/*/molecule.yml'
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1} PY_COLORS=${PY_COLORS:-0}

# Images: plain ones always, -systemd ones when a scenario with systemd as PID 1 runs.
build_args=("${distros[@]}")
for s in "${scenarios[@]}"; do case $s in reboot|coexist) build_args+=(--systemd) ;; esac; done
t0=$(date +%s)
if [ "$build" = 1 ]; then
  "$root/scripts/build-images.sh" "${build_args[@]}" 2>&1 | sed 's/^/  /' >&2
fi
log "images ready in $(( $(date +%s) - t0 ))s"

cd "$root"
scenario_test() {  # DISTRO SCENARIO: molecule test, with the scenario's own ephemeral directory
  export PORTGUARD_DISTRO=$1
  export MOLECULE_EPHEMERAL_DIRECTORY=$root/.cache/molecule/$1/$2
  rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"
  mkdir -p "$MOLECULE_EPHEMERAL_DIRECTORY"
  molecule test -s "$2" ${extra[@]+"${extra[@]}"}
}
start_all=$(date +%s)
pg_steps_begin '%-21s %-11s %5ss%s'  # (no note)
for distro in "${distros[@]}"; do
  for scenario in "${scenarios[@]}"; do
    log "==== $scenario on $distro ===="
    pg_step "$(printf '%-9s %-11s' "$distro" "$scenario")" scenario_test "$distro" "$scenario"
    log "$scenario on $distro: $([ "$PG_RC" = 0 ] && echo PASS || echo "FAIL(rc=$PG_RC)") in ${PG_SECS}s"
  done
done

total=$(( $(date +%s) - start_all ))
echo
echo "molecule scenario times (distro, scenario, result, seconds):"
pg_steps_rows | sed 's/^/  /'
echo "  total ${total}s (+ images $(( start_all - t0 ))s)"
echo "======== molecule: $PG_PASSED passed, $PG_FAILED failed in ${total}s ========"
[ "$PG_FAILED" = 0 ]
