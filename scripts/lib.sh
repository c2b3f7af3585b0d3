# shellcheck shell=bash disable=SC2034  # the PG_* variables are for the scripts that source this file
# Shared by the scripts under scripts/ and by the Makefile: source it, do not run it.
#
#   . "$root/scripts/lib.sh"
#
# Only functions and variables named pg_* / PG_* are defined; nothing runs on sourcing.
#
# The collection's symlink
#   pg_collection_name ROOT            sets PG_NS and PG_NAME from ROOT/galaxy.yml
#   pg_link_collection ROOT [DIR]      DIR/ansible_collections/NS/NAME -> ROOT (DIR: $COLLECTIONS_LINK_DIR or
#                                      ROOT/.cache/collections); what ANSIBLE_COLLECTIONS_PATH=DIR resolves
#                                      portguard.ephemeral to.  Sets PG_COLLECTIONS=DIR.
#
# The Debian mirror
#   pg_debian_mirror                   prints the mirror the machine's apt uses ($DEBIAN_MIRROR overrides)
#
# The step runner: named steps one after another, each runs even when an earlier one failed.
#   pg_steps_begin ROW_FORMAT [LOGDIR [NOTE_FUNCTION]]
#       ROW_FORMAT  printf format of one summary row, given NAME RESULT SECONDS NOTE; it must take all
#                   four (printf repeats a format for arguments left over; %.0s takes one and prints nothing)
#       LOGDIR      when given: each step's output is also written to LOGDIR/NAME.log, and the rows
#                   to LOGDIR/summary.txt as each step ends
#       NOTE_FUNCTION  called as NOTE_FUNCTION NAME LOGFILE after each step; sets PG_NOTE (the row's
#                   note) and may change PG_RC (e.g. count a warning as a failure)
#   PG_STEP_PASS / PG_STEP_FAIL   the RESULT words: PASS and FAIL(rc=%s) (printf, given the exit status)
#   pg_step NAME COMMAND...      runs COMMAND in a subshell with `set -euo pipefail` (shell functions
#                                work); never fails itself.  Then PG_RC and PG_SECS hold its exit status
#                                and seconds.
#   pg_step_needs NAME STEP...   when a STEP did not pass: records NAME as failed ("skipped: 'STEP'
#                                failed") and returns 1, so: pg_step_needs x build && pg_step x ...
#   pg_steps_rows                prints the rows, one a line
#   PG_PASSED, PG_FAILED         counts; PG_STATUS the last non-zero exit status (0: all passed)
#   pg_steps_seconds             seconds since pg_steps_begin
#   pg_result_lines LOGFILE      a test runner's result lines in LOGFILE (see the function)

pg_collection_name() {
    local galaxy="$1/galaxy.yml"
    PG_NS="$(sed -n 's/^namespace:[[:space:]]*//p' "$galaxy" | tr -d "\"' ")"
    PG_NAME="$(sed -n 's/^name:[[:space:]]*//p' "$galaxy" | tr -d "\"' ")"
    if [ -z "$PG_NS" ] || [ -z "$PG_NAME" ]; then
        echo "lib.sh: cannot read namespace/name from $galaxy" >&2
        return 1
    fi
}

pg_link_collection() {
    local root="$1" link
    PG_COLLECTIONS="${2:-${COLLECTIONS_LINK_DIR:-$root/.cache/collections}}"
    pg_collection_name "$root" || return 1
    mkdir -p "$PG_COLLECTIONS/ansible_collections/$PG_NS"
    link="$PG_COLLECTIONS/ansible_collections/$PG_NS/$PG_NAME"
    if [ "$(readlink "$link" 2>/dev/null || true)" != "$root" ]; then
        rm -rf "$link"
        ln -s "$root" "$link"
    fi
}

pg_debian_mirror() {
    local uri="" f
    if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
    shopt -s nullglob
    for f in /etc/apt/sources.list.d/*.sources; do
        # deb822: URIs: lines; skip the security archive.
        uri=$(awk 'tolower($1)=="uris:" { for (i=2;i<=NF;i++) print $i }' "$f" \
              | grep -v -- '-security' | grep -E '^https?://' | head -n1 || true)
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ]; then
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            uri=$(awk '$1=="deb" { for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) { print $i; break } }' "$f" \
                  | grep -v -- '-security' | head -n1 || true)
            [ -n "$uri" ] && break
        done
    fi
    shopt -u nullglob
    echo "${uri:-http://deb.debian.org/debian}"
}

# ---- step runner ---------------------------------------------------------------------------------------

pg_steps_begin() {
    PG_ROW_FORMAT="$1"
    PG_LOGDIR="${2:-}"
    PG_NOTE_FUNCTION="${3:-}"
    PG_STEP_PASS="${PG_STEP_PASS:-PASS}"
    PG_STEP_FAIL="${PG_STEP_FAIL:-FAIL(rc=%s)}"
    PG_ROWS=()
    PG_OK_STEPS=" "
    PG_PASSED=0
    PG_FAILED=0
    PG_STATUS=0
    PG_STEPS_START=$SECONDS
    if [ -n "$PG_LOGDIR" ]; then
        mkdir -p "$PG_LOGDIR"
        : > "$PG_LOGDIR/summary.txt"
    fi
}

_pg_step_record() {  # NAME RC SECONDS NOTE
    local result row
    if [ "$2" -eq 0 ]; then
        result="$PG_STEP_PASS"
        PG_PASSED=$((PG_PASSED + 1))
        PG_OK_STEPS="$PG_OK_STEPS$1 "
    else
        # shellcheck disable=SC2059  # the format is the caller's
        result="$(printf "$PG_STEP_FAIL" "$2")"
        PG_FAILED=$((PG_FAILED + 1))
        PG_STATUS=$2
    fi
    # shellcheck disable=SC2059
    row="$(printf "$PG_ROW_FORMAT" "$1" "$result" "$3" "$4")"
    PG_ROWS+=("$row")
    [ -z "$PG_LOGDIR" ] || printf '%s\n' "$row" >> "$PG_LOGDIR/summary.txt"
}

pg_step() {
    local name="$1" t0 errexit=0
    shift
    case $- in *e*) errexit=1 ;; esac
    t0=$SECONDS
    set +e
    # Not in an `if` or `||`: there, bash would ignore the subshell's own `set -e`.
    if [ -n "$PG_LOGDIR" ]; then
        ( set -euo pipefail; "$@" ) 2>&1 | tee "$PG_LOGDIR/$name.log"
        PG_RC=${PIPESTATUS[0]}
    else
        ( set -euo pipefail; "$@" )
        PG_RC=$?
    fi
    [ "$errexit" = 0 ] || set -e
    PG_SECS=$((SECONDS - t0))
    PG_NOTE=""
    if [ -n "$PG_NOTE_FUNCTION" ]; then
        "$PG_NOTE_FUNCTION" "$name" "${PG_LOGDIR:+$PG_LOGDIR/$name.log}"
    fi
    _pg_step_record "$name" "$PG_RC" "$PG_SECS" "$PG_NOTE"
}

pg_step_needs() {
    local name="$1" need
    shift
    for need in "$@"; do
        case $PG_OK_STEPS in *" $need "*) ;; *)
            echo "SKIPPED: needs step '$need', which failed"
            PG_RC=1 PG_SECS=-
            _pg_step_record "$name" 1 - "skipped: '$need' failed"
            return 1 ;;
        esac
    done
}

pg_steps_rows() {
    [ ${#PG_ROWS[@]} -eq 0 ] || printf '%s\n' "${PG_ROWS[@]}"
}

pg_steps_seconds() {
    echo $((SECONDS - PG_STEPS_START))
}

# The result lines of a log, for a summary: the ansible-test.sh lines (without their
# "ansible-test.sh: ansible-core==" prefix) when there are any, else every line that looks like a
# test runner's result: pytest's "==== 3 passed in 1s ====" (and the same form that release-check.sh
# and molecule.sh end with, without the ='s), or "Passed: ..." / "Failed: ...".
pg_result_lines() {
    if grep -qE '^ansible-test.sh: ansible-core==.*: (PASSED|FAILED)' "$1"; then
        grep -E '^ansible-test.sh: ansible-core==.*: (PASSED|FAILED)' "$1" | sed -E 's/^ansible-test.sh: ansible-core==//'
    else
        grep -E '^=+ .*([0-9]+ (passed|failed|errors?|skipped)|no tests ran).* =+$|^(Failed|Passed): ' "$1" \
            | sed -E 's/^=+ (.*) =+$/\1/' || true
    fi
}

# A NOTE_FUNCTION for pg_steps_begin: the log's result lines, each on a line of its own below the row.
pg_note_result_lines() {
    local line
    [ -n "${2:-}" ] || return 0
    while IFS= read -r line; do
        PG_NOTE="$PG_NOTE"$'\n'"                                 $line"
    done < <(pg_result_lines "$2")
}
