#!/usr/bin/env bash
# Lay out the collection where Ansible tooling expects it.
#
# 1. .build/ansible_collections/portguard/ephemeral: a plain copy of the files
#    git would ship (tracked + untracked-but-not-ignored).  ansible-test needs
#    the collection under an ansible_collections/<ns>/<name> path and checks
#    every file it sees there, so the copy leaves out .venv, .cache, .git,
#    test output and everything else .gitignore names.  The copy gets its own
#    empty git repository (see below).  It is brought up to date on every
#    call (it is small); files deleted from the work tree vanish from it.
#    BUILD_DIR=<dir> puts the copy at <dir>/ansible_collections/... instead.
# 2. .cache/collections/ansible_collections/portguard/ephemeral: a symlink to
#    the work tree, for ANSIBLE_COLLECTIONS_PATH (set by the Makefile), so
#    playbooks, molecule and pytest see edits without a copy step.
#
# Prints the path of the .build copy on its last line.
# --link-only: only step 2 (molecule's dependency step, .config/molecule/config.yml).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

# --- 2. symlink for ANSIBLE_COLLECTIONS_PATH (COLLECTIONS_LINK_DIR=<dir> puts it there) ---
pg_link_collection "$root"
build_root="${BUILD_DIR:-$root/.build}"
dest="$build_root/ansible_collections/$PG_NS/$PG_NAME"
[ "${1:-}" != --link-only ] || exit 0

# --- 1. copy for ansible-test ---------------------------------------------
mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$build_root/.staging.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
        && [ "$(git -C "$root" rev-parse --show-toplevel)" = "$root" ]; then
    # Paths deleted in the work tree but still in the index are skipped.
    git -C "$root" ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do
              if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
          done \
        | tar --null --no-recursion -T - -cf - \
        | tar -xf - -C "$tmp"
elif command -v rsync >/dev/null 2>&1; then
    rsync -a --exclude=/.venv --exclude=/.cache --exclude=/.build --exclude=/.git \
        --exclude=/tests/output --exclude=__pycache__ --exclude='*.pyc' \
        --exclude=/.pytest_cache --exclude=/.hypothesis "$root/" "$tmp/"
else
    tar --exclude=./.venv --exclude=./.cache --exclude=./.build --exclude=./.git \
        --exclude=./tests/output --exclude=__pycache__ --exclude='*.pyc' \
        --exclude=./.pytest_cache --exclude=./.hypothesis -cf - . | tar -xf - -C "$tmp"
fi

# ansible-test lists content with git when it finds a .git directory at or
# above the collection root.  Without one here it would find the work tree's
# own .git, where .build/ is ignored, see no files and skip every test.  An
# empty repository (no commits) makes it list exactly the copied files
# (git ls-files --others --exclude-standard, honouring the copied .gitignore).
#
# An existing copy is updated in place (rsync --delete), not replaced: another
# make run in the same checkout may be working inside it right now, and a
# directory swapped out from under it would leave it with a deleted cwd.
# .git and ansible-test's tests/output are kept.
if [ -d "$dest" ] && command -v rsync >/dev/null 2>&1; then
    rsync -a --delete --exclude=/.git --exclude=/tests/output "$tmp/" "$dest/"
    rm -rf "$tmp"
else
    rm -rf "$dest"
    mv "$tmp" "$dest"
fi
trap - EXIT
[ -d "$dest/.git" ] || git -c init.defaultBranch=main init -q "$dest"
echo "$dest"
