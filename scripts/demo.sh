#!/usr/bin/env bash
# `make demo`: reproduce "Address already in use" on a throw-away target, then
# fix it with the role portguard.ephemeral.reserved_ports from examples/.
#
# The target is a private network namespace with its own sysctl.d tree
# (tests/integration/nslab.py); the machine's own kernel values and
# /etc/sysctl.d are never touched.  Needs root and the tool venv (.venv, from
# `make venv`; PORTGUARD_VENV=<dir> picks another, as scripts/controller.sh
# does).  Everything it starts is removed at the end, also on failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PORTGUARD_VENV:-$root/.venv}"

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: needs root (it creates a network namespace)" >&2
    exit 1
fi
for tool in ip nsenter unshare; do
    command -v "$tool" >/dev/null || { echo "demo: '$tool' is missing (make deps installs it)" >&2; exit 1; }
done
if [ ! -x "$venv/bin/ansible-playbook" ]; then
    echo "demo: $venv is missing; run 'make venv' first" >&2
    exit 1
fi
# portguard.ephemeral must resolve to this work tree.
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
pg_link_collection "$root"

exec "$venv/bin/python" "$root/scripts/demo.py" "$@"
