#!/usr/bin/env bash
# make bench: cost per host of portguard.ephemeral.reserved_ports against
# Ansible's floor, in three parts (all three by default):
#
#   podman  the fleet run over the podman connection (BENCH_HOSTS containers):
#           role first run / rerun vs `ansible -m ping`, the ansible.posix.sysctl
#           baseline, micro-benchmarks, the module's peak memory on a target
#   ssh     the same fleet run over SSH into sshd containers (key auth,
#           ControlPersist, pipelining) at BENCH_SSH_HOSTS hosts: role first
#           run / rerun vs `ansible -m ping` over the same transport
#   scale   the role's controller-side part (--tags reserved_ports_validate)
#           vs one set_fact per host, at BENCH_SCALE_HOSTS synthetic hosts
#           (ansible_connection=local, nothing applied), peak controller memory
#   info    bench/bench_info.py alone (the podman part runs it too): the
#           50,000-socket audit and its per-destination pressure, in a
#           private network namespace; no container (not in the default set)
#
#   scripts/bench.sh                          everything (the full run)
#   BENCH_PARTS=scale scripts/bench.sh        one part (or a list: podman,ssh)
#   BENCH_PARTS=info scripts/bench.sh         only the 50,000-socket audit micro-benchmark
#   BENCH_HOSTS=64 scripts/bench.sh           podman part: 1-64 containers (default 16)
#   BENCH_REPS=5 BENCH_FORKS=16 scripts/bench.sh
#   BENCH_VARIANTS=0 scripts/bench.sh         podman part without the two diagnostic runs
#   BENCH_SSH_HOSTS=16,64 BENCH_SSH_REPS=3    ssh part: host counts (max 64), repetitions
#   BENCH_SCALE_HOSTS=100,1000,3000,10000     scale part: host counts (10,000 takes about 15 minutes;
#                                             a shorter list for a quick try)
#   BENCH_SCALE_REPS=3,3,1                    scale part: one number or one per count
#                                             (default: 3, and 1 from 3000 hosts up)
#   BENCH_OUT=/tmp/small.json                 write results there, and the page and
#                                             charts next to it (default:
#                                             bench/results.json, docs/benchmarks.*)
#
# A run of some parts keeps the other parts' numbers from the existing results
# file (each part's date is in its "parts" entry); BENCH_FRESH=1 drops them.
# Forks (BENCH_FORKS, default 5) apply to every part.
#
# Writes bench/results.json, docs/benchmarks.md, docs/benchmarks.png and
# docs/benchmarks-scale.png.  Logs of every run: .cache/bench/run-<timestamp>/.
# Needs root, podman and .venv (make venv); makes the collection symlink
# (as make collection does) and installs what else it needs (Debian packages through
# scripts/install-debian-deps.sh, matplotlib in .cache/bench-venv, the images
# localhost/portguard-debian:bookworm and :bookworm-sshd through
# scripts/build-images.sh).  The podman part's containers run with --network
# none --privileged; the ssh part's with --network slirp4netns and sshd
# published on 127.0.0.1 only (-p 127.0.0.1::22, a port podman picks; slirp4netns
# is a user-mode network stack: no bridge, no firewall rule, no sysctl on this
# machine).  Every sysctl the bench writes is written inside a container, after
# a check that its namespace is not the controller's.  Containers are named
# pgbench-<pid>-..., labelled with the run, and removed on exit, also on
# failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PARTS=${BENCH_PARTS:-podman,ssh,scale}
HOSTS=${BENCH_HOSTS:-16}
REPS=${BENCH_REPS:-3}
FORKS=${BENCH_FORKS:-5}
VARIANTS=${BENCH_VARIANTS:-1}
SSH_HOSTS=${BENCH_SSH_HOSTS:-16,64}
SSH_REPS=${BENCH_SSH_REPS:-$REPS}
SCALE_HOSTS=${BENCH_SCALE_HOSTS:-100,1000,3000,10000}
SCALE_REPS=${BENCH_SCALE_REPS:-}
OUT=${BENCH_OUT:-$ROOT/bench/results.json}
IMAGE=${BENCH_IMAGE:-localhost/portguard-debian:bookworm}
SSH_IMAGE=${BENCH_SSH_IMAGE:-localhost/portguard-debian:bookworm-sshd}
BENCH_VENV=$ROOT/.cache/bench-venv
export CONTAINERS_CONF=$ROOT/tests/containers/containers.conf
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections
export BENCH_IMAGE=$IMAGE

die() { echo "bench: $*" >&2; exit 1; }
has_part() { [[ ,$PARTS, == *,$1,* ]]; }

for part in ${PARTS//,/ }; do
    [[ $part == podman || $part == ssh || $part == scale || $part == info ]] ||
        die "BENCH_PARTS: unknown part '$part' (podman, ssh, scale, info)"
done
[[ -n ${PARTS//,/} ]] || die "BENCH_PARTS is empty"
if ! [[ $HOSTS =~ ^[0-9]+$ ]] || ((HOSTS < 1 || HOSTS > 64)); then die "BENCH_HOSTS must be 1-64 (got '$HOSTS')"; fi
if ! [[ $REPS =~ ^[0-9]+$ ]] || ((REPS < 3)); then die "BENCH_REPS must be at least 3 (got '$REPS')"; fi
if ! [[ $FORKS =~ ^[0-9]+$ ]] || ((FORKS < 1)); then die "BENCH_FORKS must be a positive number (got '$FORKS')"; fi
[[ $SSH_HOSTS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "BENCH_SSH_HOSTS must be a list of numbers like 16,64 (got '$SSH_HOSTS')"
SSH_MAX=$(tr ',' '\n' <<<"$SSH_HOSTS" | sort -n | tail -1)
((SSH_MAX >= 1 && SSH_MAX <= 64)) || die "BENCH_SSH_HOSTS: at most 64 hosts (got '$SSH_HOSTS')"
if ! [[ $SSH_REPS =~ ^[0-9]+$ ]] || ((SSH_REPS < 1)); then die "BENCH_SSH_REPS must be a positive number (got '$SSH_REPS')"; fi
[[ $SCALE_HOSTS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "BENCH_SCALE_HOSTS must be a list of numbers like 100,1000,3000 (got '$SCALE_HOSTS')"
[[ -z $SCALE_REPS || $SCALE_REPS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "BENCH_SCALE_REPS must be a number or a list (got '$SCALE_REPS')"
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
mkdir -p "$(dirname "$OUT")"
if [[ $OUT == "$ROOT/bench/results.json" ]]; then DOCS_DIR=$ROOT/docs; else DOCS_DIR=$(dirname "$OUT"); fi
EXTRA_ARGS=()
if [[ $VARIANTS == 0 ]]; then EXTRA_ARGS+=(--no-variants); fi
if [[ ${BENCH_FRESH:-0} == 1 ]]; then EXTRA_ARGS+=(--fresh); fi
((EUID == 0)) || die "run as root (podman containers with --privileged, private network namespaces)"
[[ -x $ROOT/.venv/bin/ansible-playbook ]] || die ".venv is missing: run make venv"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
pg_link_collection "$ROOT" "$ANSIBLE_COLLECTIONS_PATH"
# podman, ssh, slirp4netns... (only what is missing; cheap when all is there).
"$ROOT/scripts/install-debian-deps.sh" >/dev/null
command -v podman >/dev/null || die "podman is missing: run make deps"
command -v ssh >/dev/null || die "ssh is missing: run make deps (openssh-client)"

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

if has_part podman && ! podman image exists "$IMAGE"; then
    [[ $IMAGE == localhost/portguard-debian:bookworm ]] || die "image $IMAGE is missing"
    echo "bench: building $IMAGE (scripts/build-images.sh bookworm)"
    "$ROOT/scripts/build-images.sh" bookworm
fi
if has_part ssh && ! podman image exists "$SSH_IMAGE"; then
    [[ $SSH_IMAGE == localhost/portguard-debian:bookworm-sshd ]] || die "image $SSH_IMAGE is missing"
    echo "bench: building $SSH_IMAGE (scripts/build-images.sh bookworm --sshd-only)"
    "$ROOT/scripts/build-images.sh" bookworm --sshd-only
fi

RUN_ID=$(date +%Y%m%d-%H%M%S)-$$
WORKDIR=$ROOT/.cache/bench/run-$RUN_ID
mkdir -p "$WORKDIR"
PREFIX=pgbench-$$-
LABEL=portguard.bench=$RUN_ID

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

RUN_ARGS=(--parts "$PARTS" --forks "$FORKS" --workdir "$WORKDIR" --out "$OUT")

if has_part podman; then
    NAMES=()
    for ((i = 1; i <= HOSTS; i++)); do NAMES+=("$(printf '%s%02d' "$PREFIX" "$i")"); done
    echo "bench: starting $HOSTS containers from $IMAGE"
    start=$SECONDS
    printf '%s\n' "${NAMES[@]}" | xargs -P 4 -I{} podman run -d --name {} --label "$LABEL" \
        --network none --privileged "$IMAGE" >/dev/null
    running=$(podman ps -q --filter "label=$LABEL" --filter status=running | wc -l)
    ((running == HOSTS)) || die "only $running of $HOSTS containers are running"
    echo "bench: $HOSTS containers up in $((SECONDS - start)) s"
    RUN_ARGS+=(--containers "$(IFS=,; echo "${NAMES[*]}")" --reps "$REPS")
fi

if has_part ssh; then
    # A key of this run only; every sshd container accepts it for root.
    mkdir -p "$WORKDIR/ssh"
    ssh-keygen -q -t ed25519 -N '' -C "portguard-bench-$RUN_ID" -f "$WORKDIR/ssh/id_ed25519"
    install -m 0600 "$WORKDIR/ssh/id_ed25519.pub" "$WORKDIR/ssh/authorized_keys"
    SSH_NAMES=()
    for ((i = 1; i <= SSH_MAX; i++)); do SSH_NAMES+=("$(printf '%sssh-%02d' "$PREFIX" "$i")"); done
    echo "bench: starting $SSH_MAX sshd containers from $SSH_IMAGE (sshd on 127.0.0.1 only)"
    start=$SECONDS
    printf '%s\n' "${SSH_NAMES[@]}" | xargs -P 4 -I{} podman run -d --name {} --label "$LABEL" \
        --network slirp4netns:port_handler=slirp4netns -p 127.0.0.1::22 --privileged \
        -v "$WORKDIR/ssh/authorized_keys:/root/.ssh/authorized_keys:ro" "$SSH_IMAGE" >/dev/null
    TARGETS=()
    for name in "${SSH_NAMES[@]}"; do
        addr=$(podman port "$name" 22/tcp | head -1)
        [[ $addr == 127.0.0.1:* ]] || die "$name: sshd is published on '$addr', not on 127.0.0.1"
        TARGETS+=("$name=${addr#127.0.0.1:}")
    done
    running=$(podman ps -q --filter "name=^${PREFIX}ssh-" --filter status=running | wc -l)
    ((running == SSH_MAX)) || die "only $running of $SSH_MAX sshd containers are running"
    echo "bench: $SSH_MAX sshd containers up in $((SECONDS - start)) s"
    RUN_ARGS+=(--ssh-containers "$(IFS=,; echo "${TARGETS[*]}")" --ssh-key "$WORKDIR/ssh/id_ed25519"
               --ssh-hosts "$SSH_HOSTS" --ssh-reps "$SSH_REPS")
fi

if has_part scale; then
    RUN_ARGS+=(--scale-hosts "$SCALE_HOSTS")
    [[ -z $SCALE_REPS ]] || RUN_ARGS+=(--scale-reps "$SCALE_REPS")
fi

"$ROOT/.venv/bin/python" "$ROOT/bench/run_bench.py" "${RUN_ARGS[@]}" "${EXTRA_ARGS[@]}"

mkdir -p "$DOCS_DIR"
"$BENCH_VENV/bin/python" "$ROOT/bench/chart.py" "$OUT" "$DOCS_DIR/benchmarks.png" "$DOCS_DIR/benchmarks-scale.png"
"$ROOT/.venv/bin/python" "$ROOT/bench/render_docs.py" "$OUT" "$DOCS_DIR/benchmarks.md"
echo "bench: wrote ${OUT#"$ROOT"/} and ${DOCS_DIR#"$ROOT"/}/benchmarks.md with the charts of the parts it holds (logs: ${WORKDIR#"$ROOT"/})"
