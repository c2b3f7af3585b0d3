#!/usr/bin/env bash
# Release check for portguard.ephemeral: what a user gets from the tarball, checked the way Galaxy and
# users meet it.  Run by `make release-check` (and `make test`), as root, from a clone with .venv built.
#
#   1 build     ansible-galaxy collection build into a temp dir
#   2 contents  size, file count, per-directory counts; nothing from the dev tree (.venv, .cache, .git,
#               bench, molecule, scripts...), nothing .gitignore names; README and the main content present
#   3 install   ansible-galaxy collection install -p TMP; only that copy on the collections path
#   4 docs      ansible-doc renders every module, plugin and role of the installed copy (required ones:
#               local_ports, local_ports_info, reserved_ports)
#   5 netns     local_ports and local_ports_info from the installed copy in a throw-away network
#               namespace (live only); values read back there; the host's values and files unchanged
#   6 importer  galaxy-importer (pinned in requirements-importer.txt, venv .cache/importer-venv) accepts
#               the tarball: no ERROR; warnings listed
#   7 changelog antsibull-changelog lint
#   8 shipped   every relative link of every Markdown file in the tarball names a file in it; galaxy.yml's
#               version, the newest changelog release (or the pending one) and every version_added agree
#   9 awx       ansible-builder create on the installed copy's meta/execution-environment.yml: the build
#               context names the collection and the files it needs (no container build, no pulls)
#
# Every step runs even when an earlier independent one failed; the exit status is non-zero if any failed.
# Temp files live in one directory that is removed on exit, with the namespace (trap).  Nothing in the
# work tree is written except the cached importer venv (.cache/importer-venv, rebuilt when
# requirements-importer.txt changes).
#
# Environment: VENV_BIN (default <repo>/.venv/bin), IMPORTER_VENV (default <repo>/.cache/importer-venv),
# KEEP_TMP=1 keeps the temp directory for inspection.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BIN="${VENV_BIN:-$root/.venv/bin}"
IMPORTER_VENV="${IMPORTER_VENV:-$root/.cache/importer-venv}"
FQCN=portguard.ephemeral
REQUIRED_DOCS=(module:local_ports module:local_ports_info role:reserved_ports)
# Galaxy refuses a collection without its README and a role without its README.md.
REQUIRED_FILES=(README.md meta/runtime.yml changelogs/config.yaml plugins/modules/local_ports.py
                plugins/modules/local_ports_info.py roles/reserved_ports/meta/argument_specs.yml
                roles/reserved_ports/README.md)
helper=("$VENV_BIN/python" "$root/scripts/release_check.py")
NS="pg-release-$$"          # the namespace this run creates (pid-named so stale ones can be recognised)
start_all=$SECONDS

say() { printf '%s\n' "$*"; }
die() { say "release-check: $*" >&2; exit 1; }

# ---- preflight -----------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates a network namespace)"
for tool in "$VENV_BIN/ansible-galaxy" "$VENV_BIN/ansible-doc" "$VENV_BIN/ansible-playbook" \
            "$VENV_BIN/antsibull-changelog" "$VENV_BIN/ansible-builder" "$VENV_BIN/python"; do
    [ -x "$tool" ] || die "$tool is missing: run 'make venv' first"
done
command -v ip >/dev/null || die "'ip' (iproute2) is missing: run 'make deps' first"

work="$(mktemp -d "${TMPDIR:-/tmp}/portguard-release.XXXXXX")"

netns_state_file() {  # the run-state file local_ports keeps for namespace $1: keyed by its cookie (see _local_ports.py)
    local cookie
    cookie="$(ip netns exec "$1" /usr/bin/python3 -c 'import socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(struct.unpack("=Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])' 2>/dev/null)" || return 1
    printf '/run/portguard-ephemeral/owned-netns-%s\n' "$cookie"
}

drop_netns() {  # delete namespace $1 and the run-state file local_ports wrote for it
    local state
    if [ -e "/run/netns/$1" ]; then
        if state="$(netns_state_file "$1")" && [ -e "$state" ]; then
            rm -f "$state"
        fi
        ip netns delete "$1" || say "release-check: could not delete network namespace $1" >&2
    fi
}

cleanup() {
    local rc=$?
    drop_netns "$NS"
    if [ -d /run/portguard-ephemeral ] && [ ! -e "$work/run-state-existed" ]; then
        rmdir /run/portguard-ephemeral 2>/dev/null || true
    fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then say "release-check: kept $work"; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Namespaces left by an earlier run that was killed (its pid no longer runs this script).
for stale in $(ip netns list 2>/dev/null | sed -n 's/^\(pg-release-[0-9][0-9]*\)\b.*/\1/p'); do
    pid="${stale#pg-release-}"
    if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'release-check'; then
        say "release-check: removing namespace $stale left by an earlier run"
        drop_netns "$stale"
    fi
done
[ -d /run/portguard-ephemeral ] && touch "$work/run-state-existed"

# Ansible sees only what this script sets: no ANSIBLE_* from the caller (the Makefile points
# ANSIBLE_COLLECTIONS_PATH at the work tree), no PYTHONPATH, no ansible.cfg from cwd or ~, no ~/.ansible.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^ANSIBLE_' || true)
unset PYTHONPATH
mkdir -p "$work/dist" "$work/collections" "$work/ansible-home" "$work/ansible-tmp" "$work/importer/tmp"
: > "$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg"
export ANSIBLE_HOME="$work/ansible-home"
export ANSIBLE_LOCAL_TEMP="$work/ansible-tmp"
export ANSIBLE_COLLECTIONS_PATH="$work/collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False
export ANSIBLE_NOCOLOR=1
export PATH="$VENV_BIN:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
cd "$work"

# ---- step runner ---------------------------------------------------------------------------------------
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
steps_total=9
step_no=0
step_title=""
# shellcheck disable=SC2034  # PG_NOTE: read by pg_step (scripts/lib.sh)
note_title() { PG_NOTE="$step_title"; }  # the row's note: the step's title
pg_steps_begin '%-10s %-10s %4ss  %s' '' note_title

# run_step NAME TITLE FUNCTION [REQUIRES_STEP...]: runs FUNCTION in a subshell with `set -e`; a step
# whose required step failed is not run, and counts as failed.
run_step() {
    local name="$1" title="$2" func="$3"
    shift 3
    step_no=$((step_no + 1))
    say ""
    say "======== release-check $step_no/$steps_total: $title ========"
    pg_step_needs "$name" "$@" || return 0
    step_title="$title"
    pg_step "$name" "$func"
    if [ "$PG_RC" -eq 0 ]; then
        say "---- $name: PASS (${PG_SECS}s)"
    else
        say "---- $name: FAIL (rc=$PG_RC, ${PG_SECS}s)"
    fi
}
# ---- 1. build, 2. contents -----------------------------------------------------------------------------
step_build() {
    "$VENV_BIN/ansible-galaxy" collection build --output-path "$work/dist" "$root"
    local tarballs=("$work"/dist/*.tar.gz)
    if [ ${#tarballs[@]} -ne 1 ] || [ ! -f "${tarballs[0]}" ]; then say "expected one tarball in $work/dist"; exit 1; fi
    printf '%s\n' "${tarballs[0]}" > "$work/tarball"
    say "tarball: ${tarballs[0]##*/}"
}

step_contents() {
    local args=()
    for f in "${REQUIRED_FILES[@]}"; do args+=(--require "$f"); done
    "${helper[@]}" tarball "$(cat "$work/tarball")" --repo "$root" "${args[@]}"
}

# ---- 3. install ----------------------------------------------------------------------------------------
step_install() {
    "$VENV_BIN/ansible-galaxy" collection install --offline -p "$work/collections" "$(cat "$work/tarball")"
    say "ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH (sys.path scanning off; ANSIBLE_CONFIG empty)"
    say "\$ ansible-galaxy collection list"
    "$VENV_BIN/ansible-galaxy" collection list
    "$VENV_BIN/ansible-galaxy" collection list --format json | "${helper[@]}" collection-list "$FQCN" "$work/collections"
    # The repo's own copy (or any other) must not be what Ansible loads.
    local installed="$work/collections/ansible_collections/${FQCN/./\/}"
    [ ! -L "$installed" ] || { say "$installed is a symlink"; exit 1; }
}

# ---- 4. ansible-doc ------------------------------------------------------------------------------------
step_docs() {
    local args=()
    for r in "${REQUIRED_DOCS[@]}"; do args+=(--require "$r"); done
    "${helper[@]}" docs "$FQCN" "$work/collections" "${args[@]}"
}

# ---- 5. modules in a network namespace -----------------------------------------------------------------
step_netns() {
    local inode ns_values want_reserved want_range host_before host_after files_before files_after
    host_before="$(/usr/bin/python3 "$root/scripts/release_check.py" read-sysctl)"
    files_before="$(/usr/bin/python3 "$root/scripts/release_check.py" snapshot)"
    ip netns add "$NS"
    inode="$(stat -L -c %i "/run/netns/$NS")"
    say "namespace $NS (inode $inode); host namespace inode $(stat -L -c %i /proc/self/ns/net)"
    [ "$inode" != "$(stat -L -c %i /proc/self/ns/net)" ] || { say "the new namespace is the host's"; exit 1; }

    # The playbook runs from a copy in the temp dir: no collections/ or roles/ beside it, nothing of
    # the work tree within reach; the modules come from ANSIBLE_COLLECTIONS_PATH (the installed copy).
    mkdir -p "$work/playbook"
    cp "$root/tests/release/netns.yml" "$work/playbook/netns.yml"
    "$VENV_BIN/ansible-playbook" -i localhost, -c local \
        -e ansible_python_interpreter=/usr/bin/python3 \
        -e "release_netns=/run/netns/$NS" -e "release_netns_inode=$inode" \
        "$work/playbook/netns.yml"

    # Read back in the namespace, independently of the modules.
    ns_values="$(ip netns exec "$NS" /usr/bin/python3 "$root/scripts/release_check.py" read-sysctl)"
    say "read back in $NS: $ns_values"
    want_reserved=$'45001,45003,50000-50002\n'
    want_range=$'40000\t60999\n'
    /usr/bin/python3 - "$ns_values" "$inode" "$want_reserved" "$want_range" <<'EOF'
import json, sys
got, inode, reserved, port_range = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
errors = []
if got['netns_inode'] != inode:
    errors.append('read from namespace inode %s, expected %s' % (got['netns_inode'], inode))
if got['net.ipv4.ip_local_reserved_ports'] != reserved:
    errors.append('ip_local_reserved_ports is %r, expected %r' % (got['net.ipv4.ip_local_reserved_ports'], reserved))
if got['net.ipv4.ip_local_port_range'] != port_range:
    errors.append('ip_local_port_range is %r, expected %r' % (got['net.ipv4.ip_local_port_range'], port_range))
if errors:
    sys.exit('FAILED: ' + '; '.join(errors))
print('namespace values: OK')
EOF

    host_after="$(/usr/bin/python3 "$root/scripts/release_check.py" read-sysctl)"
    files_after="$(/usr/bin/python3 "$root/scripts/release_check.py" snapshot)"
    if [ "$host_before" != "$host_after" ]; then
        say "FAILED: the host's own values changed:"; say "  before: $host_before"; say "  after:  $host_after"
        exit 1
    fi
    if [ "$files_before" != "$files_after" ]; then
        say "FAILED: the host's sysctl files changed:"
        diff <(printf '%s\n' "$files_before") <(printf '%s\n' "$files_after") || true
        exit 1
    fi
    say "host values unchanged: $host_after"
    say "host sysctl files unchanged ($(printf '%s\n' "$files_after" | grep -c '": ') files)"
    drop_netns "$NS"
    [ ! -e "/run/netns/$NS" ] || { say "namespace $NS still exists"; exit 1; }
}

# ---- 6. galaxy-importer --------------------------------------------------------------------------------
step_importer() {
    # Built once (about 30 s), reused while requirements-importer.txt is unchanged.  pip's
    # per-package lines go to a log that is shown only when it fails.
    if ! PYTHON=python3 "$root/scripts/setup-venv.sh" "$IMPORTER_VENV" "$root/requirements-importer.txt" \
            > "$work/importer/venv.log" 2>&1; then
        cat "$work/importer/venv.log"
        say "FAILED: could not build $IMPORTER_VENV"
        exit 1
    fi
    grep -E '^(setup-venv|Successfully installed)' "$work/importer/venv.log" | cut -c1-200 || true
    # Config keys: galaxy_importer/config.py (Config.DEFAULTS); every key is spelled out.  ansible-test
    # needs docker/podman and the network: off.  ansible-doc and ansible-lint (offline) run, as on Galaxy.
    # flake8 stays off as in the importer's defaults: it also reads the YAML docs of filters
    # (plugins/filter/*.yml) as Python and warns E999 on each; ansible-test pep8 is our style gate.
    # Temp files stay in this run's temp directory (ANSIBLE_LOCAL_TMP is also XDG_CACHE_HOME for lint).
    cat > "$work/importer/galaxy-importer.cfg" <<EOF
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_TEST = False
ANSIBLE_TEST_LOCAL_IMAGE = False
LOCAL_IMAGE_DOCKER = False
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_FLAKE8 = False
CHECK_CHANGELOG = True
CHECK_REQUIRED_TAGS = False
REQUIRE_V1_OR_GREATER = False
INFRA_OSD = False
ANSIBLE_LOCAL_TMP = $work/importer/tmp/ansible
TMP_ROOT_DIR = $work/importer/tmp
EOF
    "$IMPORTER_VENV/bin/python" -c 'from importlib.metadata import version as v
print("galaxy-importer %s with ansible-core %s, ansible-lint %s, flake8 %s"
      % (v("galaxy-importer"), v("ansible-core"), v("ansible-lint"), v("flake8")))'
    local rc=0
    # Its own ansible-doc and ansible-lint come first on PATH; it sets ANSIBLE_COLLECTIONS_PATH itself.
    ( cd "$work/importer" && env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_SCAN_SYS_PATH \
        PATH="$IMPORTER_VENV/bin:$PATH" GALAXY_IMPORTER_CONFIG="$work/importer/galaxy-importer.cfg" \
        "$IMPORTER_VENV/bin/python" -m galaxy_importer.main "$(cat "$work/tarball")" ) \
        > "$work/importer/log" 2>&1 || rc=$?
    cat "$work/importer/log"
    say "----"
    "${helper[@]}" importer "$work/importer/log"
    [ $rc -eq 0 ] || { say "FAILED: galaxy-importer exited $rc"; exit 1; }
}

# ---- 7. changelog --------------------------------------------------------------------------------------
step_changelog() {
    cd "$root"
    say "\$ antsibull-changelog lint   ($(find changelogs/fragments -type f | wc -l) fragments)"
    "$VENV_BIN/antsibull-changelog" lint
    if [ -f changelogs/changelog.yaml ]; then
        "$VENV_BIN/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml
    fi
    say "changelog: OK"
}

# ---- 8. shipped docs, 9. execution environment -----------------------------------------------------------
step_shipped() {
    "${helper[@]}" links "$(cat "$work/tarball")"
    "${helper[@]}" versions "$(cat "$work/tarball")"
}

step_awx() {
    local installed="$work/collections/ansible_collections/${FQCN/./\/}"
    mkdir -p "$work/ee"
    "${helper[@]}" ee "$installed" "$work/ee"
}

run_step build     "build the collection tarball (ansible-galaxy collection build)"          step_build
run_step contents  "tarball contents: lean, complete, nothing git ignores"                  step_contents  build
run_step install   "install the tarball into a clean collections path"                      step_install   build
run_step docs      "ansible-doc renders every module, plugin and role of the installed copy" step_docs      install
run_step netns     "local_ports and local_ports_info from the installed copy, in namespace $NS" step_netns install
run_step importer  "galaxy-importer accepts the tarball"                                    step_importer  build
run_step changelog "antsibull-changelog lint"                                               step_changelog
run_step shipped   "shipped docs: links resolve in the tarball, versions agree"             step_shipped   build
run_step awx       "ansible-builder create: an execution environment context"               step_awx       install

say ""
say "======== release-check summary ========"
pg_steps_rows
say "======== release-check: $PG_PASSED passed, $PG_FAILED failed in $((SECONDS - start_all))s ========"
[ "$PG_FAILED" -eq 0 ]
