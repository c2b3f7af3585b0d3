#!/usr/bin/env bash
# Run a command with a newer ansible-core controller than the machine's Python
# can run: the tools pinned in requirements-controller-VERSION.txt, installed
# into .cache/controller-VERSION on Python 3.13 inside the Debian 13 root
# (scripts/trixie-root.sh, which this script builds and enters).
#
#   scripts/controller.sh 2.21 CMD...
#   e.g. scripts/controller.sh 2.21 molecule test -s default
#        scripts/controller.sh 2.21 python -m pytest tests/integration/test_role.py
#        scripts/controller.sh 2.21 bash          (a shell with that controller)
#
# Inside: the checkout has the same path as outside, the venv's bin/ is first
# on PATH, VIRTUAL_ENV/VENV/PORTGUARD_VENV name the venv (tests/integration
# and scripts/demo.sh, scripts/molecule.sh take their ansible-playbook from
# there), ANSIBLE_COLLECTIONS_PATH resolves portguard.ephemeral to this
# checkout, CONTAINERS_CONF is tests/containers/containers.conf, and `podman`
# is the machine's podman (see scripts/trixie-root.sh).  The venv is rebuilt
# only when the requirements file changes (scripts/setup-venv.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${1:?usage: $0 VERSION CMD...}
shift
[ $# -gt 0 ] || { echo "usage: $0 VERSION CMD..." >&2; exit 2; }
reqs=$root/requirements-controller-$version.txt
[ -f "$reqs" ] || { echo "controller.sh: no $reqs" >&2; exit 2; }
venv=$root/.cache/controller-$version

if [ -z "${PORTGUARD_TRIXIE:-}" ]; then
    # shellcheck source=scripts/lib.sh
    . "$root/scripts/lib.sh"
    pg_link_collection "$root"
    exec "$root/scripts/trixie-root.sh" run "$root/scripts/controller.sh" "$version" "$@"
fi

PYTHON=python3 "$root/scripts/setup-venv.sh" "$venv" "$reqs" >&2
unset PYTHONHOME
export VIRTUAL_ENV=$venv VENV=$venv PORTGUARD_VENV=$venv
export PATH=$venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$root/.cache/collections
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/tests/containers/containers.conf}
exec "$@"
