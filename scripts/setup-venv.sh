#!/usr/bin/env bash
# Create or refresh a Python virtual environment from pinned requirements.
#
#   scripts/setup-venv.sh VENV_DIR REQUIREMENTS_FILE [REQUIREMENTS_FILE...]
#   scripts/setup-venv.sh VENV_DIR -- PIP_INSTALL_ARGS...
#
# Idempotent and cheap when nothing changed: a stamp file under
# .cache/stamps/ records a hash of the inputs (requirements contents, the
# Python interpreter version and STAMP_REVISION below: bump it when a change
# to this script should rebuild every venv).  When the hash changes the
# venv is deleted and built again from scratch, so packages dropped from the
# requirements really disappear.  A venv that exists without a stamp (built by
# hand earlier) is adopted: pip installs the pins into it, then it is stamped.
#
# Environment: PYTHON (interpreter used to create the venv, default python3),
# STAMP_DIR (default <repo>/.cache/stamps).
set -euo pipefail

STAMP_REVISION=1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

if [ $# -lt 2 ]; then
    echo "usage: $0 VENV_DIR REQUIREMENTS_FILE... | VENV_DIR -- PIP_ARGS..." >&2
    exit 2
fi

venv="$1"; shift
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
python="${PYTHON:-python3}"
stamp_dir="${STAMP_DIR:-$root/.cache/stamps}"
stamp="$stamp_dir/venv-$(printf '%s' "$venv" | sha256sum | cut -c1-12)-$(basename "$venv")"

pip_args=()
hash_input=""
if [ "$1" = "--" ]; then
    shift
    pip_args=("$@")
    hash_input="args: $*"
else
    for req in "$@"; do
        [ -f "$req" ] || { echo "setup-venv: no such requirements file: $req" >&2; exit 2; }
        pip_args+=(-r "$req")
        hash_input+="$req $(sha256sum < "$req")"$'\n'
    done
fi

py_version="$("$python" -c 'import sys; print(sys.version.split()[0], sys.implementation.name)')"
want="$(printf '%s\n%s\n%s\n' "$hash_input" "$py_version" "$STAMP_REVISION" | sha256sum | cut -d' ' -f1)"

have=""
[ -f "$stamp" ] && have="$(cat "$stamp")"

if [ -x "$venv/bin/python" ] && [ "$have" = "$want" ]; then
    exit 0
fi

mkdir -p "$stamp_dir"
rm -f "$stamp"

if [ -x "$venv/bin/python" ] && [ -z "$have" ]; then
    echo "setup-venv: adopting existing $venv (no stamp yet)"
else
    if [ -e "$venv" ]; then
        echo "setup-venv: requirements changed, re-creating $venv"
        rm -rf "$venv"
    else
        echo "setup-venv: creating $venv"
    fi
    "$python" -m venv "$venv"
fi

# The machine's pip configuration (/etc/pip.conf, ~/.config/pip, PIP_* env)
# applies as usual.  Warnings about absent local index directories are noise.
# With pipefail the pipeline fails when pip fails (the filter always succeeds).
if ! "$venv/bin/python" -m pip install --disable-pip-version-check "${pip_args[@]}" 2>&1 \
        | { grep -v "^WARNING: Location 'file://.*' is ignored: it is neither a file nor a directory." || true; }; then
    echo "setup-venv: pip install failed for $venv" >&2
    exit 1
fi

printf '%s\n' "$want" > "$stamp"
echo "setup-venv: $venv ready"
