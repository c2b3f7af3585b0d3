#!/usr/bin/env bash
# make bench: cost per host of portguard.ephemeral.reserved_ports against
# Ansible's floor (ansible -m ping) and a usual ansible.posix.sysctl role,
# plus micro-benchmarks and the module's peak memory on a target.
#
#   scripts/bench.sh                 16 containers, 3 repetitions, forks 5
#   BENCH_HOSTS=64 scripts/bench.sh  up to 64 containers
#   BENCH_REPS=5 BENCH_FORKS=16 scripts/bench.sh
#   BENCH_VARIANTS=0 scripts/bench.sh   without the two diagnostic runs
#
# Writes bench/results.json, docs/benchmarks.md and docs/benchmarks.png.
# Logs of every run: .cache/bench/run-<timestamp>/logs/.
# Needs root, podman, the image localhost/portguard-debian:bookworm (built here
# with scripts/build-images.sh bookworm when missing), .venv (make venv) and the
# collection symlink (make collection).  The containers run with --network none
# --privileged; every sysctl the bench writes is written inside them, after a
# check that the namespace is not the controller's.  They are removed on exit,
# also on failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

HOSTS=${BENCH_HOSTS:-16}
REPS=${BENCH_REPS:-3}
FORKS=${BENCH_FORKS:-5}
VARIANTS=${BENCH_VARIANTS:-1}
IMAGE=${BENCH_IMAGE:-localhost/portguard-debian:bookworm}
BENCH_VENV=$ROOT/.cache/bench-venv
export CONTAINERS_CONF=$ROOT/tests/containers/containers.conf
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections
export BENCH_IMAGE=$IMAGE

die() { echo "bench: $*" >&2; exit 1; }

if ! [[ $HOSTS =~ ^[0-9]+$ ]] || ((HOSTS < 1 || HOSTS > 64)); then die "BENCH_HOSTS must be 1-64 (got '$HOSTS')"; fi
if ! [[ $REPS =~ ^[0-9]+$ ]] || ((REPS < 3)); then die "BENCH_REPS must be at least 3 (got '$REPS')"; fi
if ! [[ $FORKS =~ ^[0-9]+$ ]] || ((FORKS < 1)); then die "BENCH_FORKS must be a positive number (got '$FORKS')"; fi
EXTRA_ARGS=()
if [[ $VARIANTS == 0 ]]; then EXTRA_ARGS+=(--no-variants); fi
((EUID == 0)) || die "run as root (podman containers with --privileged, private network namespaces)"
command -v podman >/dev/null || die "podman is missing: run scripts/build-images.sh bookworm (it installs it) or make deps"
[[ -x $ROOT/.venv/bin/ansible-playbook ]] || die ".venv is missing: run make venv"
[[ -e $ANSIBLE_COLLECTIONS_PATH/ansible_collections/portguard/ephemeral ]] || die "collection symlink missing: run make collection"

# The chart needs matplotlib, kept out of the project's requirements.
stamp=$BENCH_VENV/.requirements.sha256
want=$(sha256sum "$ROOT/bench/requirements.txt" | cut -d' ' -f1)
if [[ ! -x $BENCH_VENV/bin/python || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "bench: setting up $BENCH_VENV (matplotlib for the chart)"
    rm -rf "$BENCH_VENV"
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/bench/requirements.txt"
    echo "$want" >"$stamp"
fi

if ! podman image exists "$IMAGE"; then
    [[ $IMAGE == localhost/portguard-debian:bookworm ]] || die "image $IMAGE is missing"
    echo "bench: building $IMAGE (scripts/build-images.sh bookworm)"
    "$ROOT/scripts/build-images.sh" bookworm
fi

RUN_ID=$(date +%Y%m%d-%H%M%S)-$$
WORKDIR=$ROOT/.cache/bench/run-$RUN_ID
mkdir -p "$WORKDIR"
PREFIX=pgbench-$$-
LABEL=portguard.bench=$RUN_ID
NAMES=()
for ((i = 1; i <= HOSTS; i++)); do NAMES+=("$(printf '%s%02d' "$PREFIX" "$i")"); done

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # Only the containers this run started: its label, its names.
    local ids
    ids=$(podman ps -aq --filter "label=$LABEL" 2>/dev/null || true)
    if [[ -n $ids ]]; then
        echo "bench: removing $(wc -w <<<"$ids") containers"
        # shellcheck disable=SC2086
        podman rm -f -t 0 $ids >/dev/null 2>&1 || echo "bench: could not remove some containers: $ids" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench: starting $HOSTS containers from $IMAGE"
start=$SECONDS
printf '%s\n' "${NAMES[@]}" | xargs -P 4 -I{} podman run -d --name {} --label "$LABEL" \
    --network none --privileged "$IMAGE" >/dev/null
running=$(podman ps -q --filter "label=$LABEL" --filter status=running | wc -l)
((running == HOSTS)) || die "only $running of $HOSTS containers are running"
echo "bench: $HOSTS containers up in $((SECONDS - start)) s"

"$ROOT/.venv/bin/python" "$ROOT/bench/run_bench.py" \
    --containers "$(IFS=,; echo "${NAMES[*]}")" \
    --reps "$REPS" --forks "$FORKS" "${EXTRA_ARGS[@]}" \
    --workdir "$WORKDIR" --out "$ROOT/bench/results.json"

"$BENCH_VENV/bin/python" "$ROOT/bench/chart.py" "$ROOT/bench/results.json" "$ROOT/docs/benchmarks.png"
"$ROOT/.venv/bin/python" "$ROOT/bench/render_docs.py" "$ROOT/bench/results.json" "$ROOT/docs/benchmarks.md"
echo "bench: wrote bench/results.json, docs/benchmarks.md, docs/benchmarks.png (logs: ${WORKDIR#"$ROOT"/})"
