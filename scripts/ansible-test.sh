#!/usr/bin/env bash
# Run ansible-test (sanity and/or units) against one ansible-core release.
#
#   scripts/ansible-test.sh MINOR [sanity|units|all] [-- EXTRA_ANSIBLE_TEST_ARGS...]
#   e.g. scripts/ansible-test.sh 2.16 sanity
#
# - The exact release comes from requirements-ansible-test.txt
#   (the line "ansible-core==MINOR.N").
# - It is installed into its own small venv .cache/core-MINOR
#   (scripts/setup-venv.sh: stamped, rebuilt only when the pin changes).
# - ansible-test runs with --local --python $ANSIBLE_TEST_PYTHON (default:
#   the X.Y of python3) inside a collection copy made by
#   scripts/collection-tree.sh for this version
#   (.build/core-MINOR/ansible_collections/portguard/ephemeral),
#   with the collection's tests/sanity/ignore-MINOR.txt.
#
# pip bootstrap stand-in: for every sanity test that needs extra packages,
# ansible-test creates a venv without pip and bootstraps pip into it with a
# get-pip.py it downloads from a host that is not reachable here.  It first
# looks for a cached copy at ~/.ansible/test/cache/get_pip_<pip version>.py,
# so this script writes a stand-in there that installs pip with the
# interpreter's own ensurepip and then upgrades to the pip release ansible-test
# asked for, from the package index the machine's pip configuration names.
# Nothing is skipped: every sanity test ansible-test selects still runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

minor="${1:?usage: $0 MINOR [sanity|units|all] [-- ARGS...]}"
what="${2:-all}"
shift $(( $# >= 2 ? 2 : 1 ))
extra=()
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi

case "$what" in sanity|units|all) ;; *) echo "ansible-test.sh: unknown step '$what'" >&2; exit 2 ;; esac

reqs="$root/requirements-ansible-test.txt"
pin="$(grep -E "^ansible-core==${minor//./\\.}\.[0-9]+[[:space:]]*$" "$reqs" | tr -d '[:space:]' || true)"
[ -n "$pin" ] || { echo "ansible-test.sh: no 'ansible-core==$minor.N' line in $reqs" >&2; exit 2; }

# ansible-core 2.20 and later need Python >= 3.12: run this script again inside
# the Debian 13 root (Python 3.13, scripts/trixie-root.sh), same checkout path.
# ANSIBLE_TEST_CONTROLLER=host|trixie overrides the choice.
controller="${ANSIBLE_TEST_CONTROLLER:-}"
if [ -z "$controller" ]; then
    case "$minor" in 2.1[0-9]) controller=host ;; *) controller=trixie ;; esac
fi
if [ "$controller" = trixie ] && [ -z "${PORTGUARD_TRIXIE:-}" ]; then
    exec "$root/scripts/trixie-root.sh" run env -u PYTHON ANSIBLE_TEST_CONTROLLER=trixie \
        "$root/scripts/ansible-test.sh" "$minor" "$what" ${extra[@]+-- "${extra[@]}"}
fi

python_bin="${PYTHON:-python3}"
test_python="${ANSIBLE_TEST_PYTHON:-$("$python_bin" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}"
venv="$root/.cache/core-$minor"

PYTHON="$python_bin" "$root/scripts/setup-venv.sh" "$venv" -- "$pin"

# --- get-pip stand-in -------------------------------------------------------
pip_version="$("$venv/bin/python" - "$test_python" <<'PY'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))['pip'])
PY
)"
cache_dir="$HOME/.ansible/test/cache"
get_pip="$cache_dir/get_pip_${pip_version//./_}.py"
marker="# portguard-ephemeral get-pip stand-in, revision 2"
if ! { [ -f "$get_pip" ] && grep -qxF "$marker" "$get_pip"; }; then
    if [ -f "$get_pip" ]; then
        echo "ansible-test.sh: replacing $get_pip with the local stand-in"
    fi
    mkdir -p "$cache_dir"
    cat > "$get_pip.tmp" <<PY
$marker
"""Stand-in for get-pip.py, written by scripts/ansible-test.sh.

ansible-test runs this file (via its quiet_pip.py wrapper) inside a venv it
made without pip, with arguments like
  --disable-pip-version-check pip==X [setuptools==Y wheel==Z] [--no-setuptools] [--no-wheel]
The real get-pip.py cannot be downloaded here, so: install pip with ensurepip
(in a subprocess: ensurepip wipes PIP_* variables and sets
PIP_CONFIG_FILE=/dev/null in its own process, which would hide the machine's
pip settings), then let that pip install exactly the requested packages.
"""
import os
import subprocess
import sys

args = sys.argv[1:]
no_setuptools = '--no-setuptools' in args
no_wheel = '--no-wheel' in args
args = [a for a in args if a not in ('--no-setuptools', '--no-wheel')]

env = dict(os.environ)
if env.get('PIP_CONFIG_FILE') == os.devnull:
    del env['PIP_CONFIG_FILE']

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], env=env, stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args, env=env)

# get-pip.py with --no-setuptools / --no-wheel leaves them out; ensurepip may
# have brought them, so take them out again to match.
remove = [name for name, flag in (('setuptools', no_setuptools), ('wheel', no_wheel))
          if flag and subprocess.call([sys.executable, '-m', 'pip', 'show', '--quiet', name],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0]
if remove:
    subprocess.check_call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet'] + remove, env=env)
PY
    mv "$get_pip.tmp" "$get_pip"
fi

# --- collection tree ----------------------------------------------------------
# Each ansible-core version gets its own copy of the collection,
# .build/core-MINOR/ansible_collections/portguard/ephemeral, brought up to date
# here: ansible-test writes its results into tests/output of the tree it runs
# in, so two versions (or two people's make runs in one checkout) never share
# one, and versions may run in parallel.
tree="$(BUILD_DIR="$root/.build/core-$minor" "$root/scripts/collection-tree.sh" | tail -n1)"

export PATH="$venv/bin:$PATH"
# ansible-test derives collection paths from the tree it runs in.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS PYTHONPATH
cd "$tree"

ansible-test --version

# A sanity test whose tool is missing is reported as a warning and skipped;
# treat that as a failure, so a green run means every test really ran.
if [ "$what" != units ] && ! command -v shellcheck >/dev/null 2>&1; then
    echo "ansible-test.sh: shellcheck is not installed (run: make deps)" >&2
    exit 1
fi

# ansible-test keeps the venvs of its sanity tests in ~/.ansible/test/venv and
# builds a missing one in place; two runs building the same one at once break
# it (pip fails half-way).  Runs of this script on one machine therefore take
# turns (other direct ansible-test calls are not covered).
lock="$cache_dir/../portguard-ansible-test.lock"
exec 9>"$lock"
if ! flock -n 9; then
    echo "ansible-test.sh: waiting for another ansible-test run on this machine ($lock)"
    flock 9
fi

logdir="$(mktemp -d)"
trap 'rm -rf "$logdir"' EXIT
# shellcheck disable=SC2317  # called by pg_step (pg_steps_begin below)
step_note() {  # NAME LOG: a one-line result for the closing line
    local name="$1" log="$2"
    if [ "$name" = sanity ]; then
        local total
        total=$(grep -c '^Running sanity test' "$log" || true)
        PG_NOTE=$(sed -n 's/^FATAL: The \([0-9]*\) sanity test(s) listed below (out of \([0-9]*\)) failed.*/\1 of \2 tests failed/p' "$log")
        [ -n "$PG_NOTE" ] || PG_NOTE="$total tests ran"
    else
        # ansible-test runs pytest once per group of tests (module_utils,
        # modules, other plugins): add up their closing lines.
        PG_NOTE=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$log" \
               | awk '{ runs++; for (i = 2; i <= NF; i++) { w = $i; sub(/,$/, "", w); if ($(i-1) ~ /^[0-9]+$/) n[w] += $(i-1) } }
                      END { if (runs) { out = runs " pytest run" (runs > 1 ? "s" : "") ":";
                                        split("passed failed errors error skipped xfailed xpassed", k, " ");
                                        for (j = 1; j <= 7; j++) if (n[k[j]]) out = out " " n[k[j]] " " k[j] ",";
                                        sub(/,$/, "", out); if (out ~ /:$/) out = out " no tests ran"; print out } }')
    fi
    if grep -E '^WARNING: (Required program .* not found|Skipping sanity test)' "$log" >&2; then
        echo "ansible-test.sh: ansible-test $name skipped work (warnings above): counted as a failure" >&2
        PG_NOTE="${PG_NOTE:+$PG_NOTE, }skipped work"
        [ "$PG_RC" -ne 0 ] || PG_RC=1
    fi
    PG_NOTE="${PG_NOTE:-no result line} (${PG_SECS}s)"
}
# shellcheck disable=SC2034  # read by pg_step (scripts/lib.sh)
PG_STEP_PASS=ok PG_STEP_FAIL='FAILED rc=%s'
# Rows "NAME ok|FAILED rc=N: NOTE (Ss)": the seconds come at the end of the note (%.0s skips them).
pg_steps_begin '%s %s: %.0s%s' "$logdir" step_note
run() {  # run NAME COMMAND...
    echo "=== ${*:2} ($pin, python $test_python)"
    pg_step "$@"
}
if [ "$what" = sanity ] || [ "$what" = all ]; then
    run sanity ansible-test sanity --local --python "$test_python" --color no -v "${extra[@]}"
fi
if [ "$what" = units ] || [ "$what" = all ]; then
    run units ansible-test units --local --python "$test_python" --requirements --color no -v "${extra[@]}"
fi
summary="$(printf '%s; ' "${PG_ROWS[@]}")"
echo "ansible-test.sh: $pin: $([ "$PG_FAILED" -eq 0 ] && echo PASSED || echo FAILED): ${summary%; }"
exit "$PG_STATUS"
