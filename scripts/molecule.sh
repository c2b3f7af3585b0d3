#!/usr/bin/env bash
# Run the molecule scenarios of portguard.ephemeral in local podman containers.
#
# Usage: scripts/molecule.sh [SCENARIO|all]... [--distro bookworm|trixie|all] [--no-build|--build-only] [-- MOLECULE_TEST_ARGS...]
#
#   SCENARIO   a directory molecule/<name>/ with a molecule.yml; all (the default) runs each, in name order
#   --distro   Debian release of the instances: bookworm (default), trixie, or all (both, one after the other)
#   --no-build do not build missing images (inside scripts/controller.sh: `make molecule` builds them outside)
#   --build-only  build the images the scenarios need, run nothing
#   -- ARGS    passed to `molecule test` (e.g. -- --destroy=never to keep the instances)
#
# A scenario is its directory: the list is molecule/*/molecule.yml, the images it needs
# are its platforms' `image: localhost/portguard-debian:${PORTGUARD_DISTRO:-bookworm}[-VARIANT]`
# lines (VARIANT is a scripts/build-images.sh variant), and a line
#   # portguard: distros=bookworm
# in its molecule.yml limits the releases it runs on (the others are listed as skipped).
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
# Every scenario directory, in name order.
known=()
for f in "$root"/molecule/*/molecule.yml; do known+=("$(basename "$(dirname "$f")")"); done

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
    --build-only) build=2; shift ;;
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
[ "$build" = 2 ] || [ -x "$venv/bin/molecule" ] || die "$venv/bin/molecule missing: make venv (or VENV=<dir>)"

scenario_variants() {  # SCENARIO: the image variants its platforms name (empty line for the plain image)
  # shellcheck disable=SC2016  # the ${PORTGUARD_DISTRO...} is text in molecule.yml, not for the shell
  sed -n 's/^ *image: *localhost\/portguard-debian:\${PORTGUARD_DISTRO:-bookworm}-\{0,1\}\([a-z]*\) *$/\1/p' \
    "$root/molecule/$1/molecule.yml" | sort -u
}
scenario_runs_on() {  # SCENARIO DISTRO: whether the scenario runs on that release
  local only
  only=$(sed -n 's/^# portguard: distros=\(.*\)$/\1/p' "$root/molecule/$1/molecule.yml")
  [ -z "$only" ] || case " ${only//,/ } " in *" $2 "*) ;; *) return 1 ;; esac
}

export PATH=$venv/bin:$PATH
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/tests/containers/containers.conf}
# portguard.ephemeral resolves to THIS checkout (a copy elsewhere gets its own link).
pg_link_collection "$root" "$root/.cache/collections"
export ANSIBLE_COLLECTIONS_PATH=$PG_COLLECTIONS${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}
# The scenarios live in molecule/ at the collection root (not extensions/molecule).
export MOLECULE_GLOB='molecule/*/molecule.yml'
export ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-1} PY_COLORS=${PY_COLORS:-0}

# Images: the ones the scenarios' platforms name, for the releases they run on.
t0=$(date +%s)
if [ "$build" != 0 ]; then
  for distro in "${distros[@]}"; do
    build_args=() want_plain=0
    for s in "${scenarios[@]}"; do
      scenario_runs_on "$s" "$distro" || continue
      for v in $(scenario_variants "$s"); do build_args+=("--$v-only"); done
      if scenario_variants "$s" | grep -qx ''; then want_plain=1; fi
    done
    # shellcheck disable=SC2207
    build_args=($(printf '%s\n' ${build_args[@]+"${build_args[@]}"} | awk '!seen[$0]++'))
    [ "$want_plain" = 1 ] || [ ${#build_args[@]} -gt 0 ] || continue
    if [ "$want_plain" = 1 ]; then build_args=("${build_args[@]/%-only/}"); fi
    "$root/scripts/build-images.sh" "$distro" ${build_args[@]+"${build_args[@]}"} 2>&1 | sed 's/^/  /' >&2
  done
fi
log "images ready in $(( $(date +%s) - t0 ))s"
[ "$build" != 2 ] || exit 0

cd "$root"
scenario_test() {  # DISTRO SCENARIO: molecule test, with the scenario's own ephemeral directory
  export PORTGUARD_DISTRO=$1
  export MOLECULE_EPHEMERAL_DIRECTORY=$root/.cache/molecule/$1/$2
  rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"
  mkdir -p "$MOLECULE_EPHEMERAL_DIRECTORY"
  molecule test -s "$2" ${extra[@]+"${extra[@]}"}
}
start_all=$(date +%s)
skipped=()
pg_steps_begin '%-21s %-11s %5ss%s'  # (no note)
for distro in "${distros[@]}"; do
  for scenario in "${scenarios[@]}"; do
    if ! scenario_runs_on "$scenario" "$distro"; then
      log "==== $scenario: not on $distro (molecule/$scenario/molecule.yml: portguard: distros=...) ===="
      skipped+=("$distro/$scenario")
      continue
    fi
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
[ ${#skipped[@]} -eq 0 ] || echo "  not run (the scenario names its releases): ${skipped[*]}"
echo "======== molecule: $PG_PASSED passed, $PG_FAILED failed in ${total}s ========"
[ "$PG_FAILED" = 0 ]
