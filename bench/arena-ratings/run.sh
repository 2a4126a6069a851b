#!/usr/bin/env bash
# Arena ratings benchmark: `assay arena ratings` (load + Bradley-Terry fit + 1,000-round
# bootstrap) on N synthetic battles over M models, side by side with FastChat and evalica on the
# same file. Prints a table and writes work/results.md. See README.md.
#
# Environment (all optional):
#   N=2000000 M=150 SEED=20240601   the battle file (regenerated when truth.json disagrees)
#   BOOTSTRAP=1000      assay's bootstrap rounds
#   RUNS=3              timed assay runs of each kind (the table shows the median wall time)
#   ROUNDS=10           bootstrap rounds timed for each peer (extrapolated to BOOTSTRAP)
#   ASSAY_BIN=<repo>/target/release/assay
#   ASSAY_EXTRA_ARGS=   appended to the assay command line
#   PEERS=1             0: reuse work/peers.jsonl from an earlier run instead of rerunning the
#                       peers (they take ~3 minutes and ~10 GB)
#   PEER_TOOLS=fastchat,evalica
#   WORK_DIR=<here>/work  where the data, runs and results go (the venv stays in work/venv)
#   KEEP_OPENBLAS_ENV=0 1: leave OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as set on this machine for
#                       the peers (they pin an older, slower OpenBLAS kernel); by default both are
#                       unset for the peers' process only, so numpy/scikit-learn run their best
#                       kernel (recorded in the output, "blas")
# Needs ./setup.sh to have installed the peers into work/venv, and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
work=${WORK_DIR:-$here/work}
repo=$(cd ../.. && pwd)

N=${N:-2000000}
M=${M:-150}
SEED=${SEED:-20240601}
BOOTSTRAP=${BOOTSTRAP:-1000}
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-10}
ASSAY_BIN=${ASSAY_BIN:-$repo/target/release/assay}
ASSAY_EXTRA_ARGS=${ASSAY_EXTRA_ARGS:-}
PEERS=${PEERS:-1}
PEER_TOOLS=${PEER_TOOLS:-fastchat,evalica}
KEEP_OPENBLAS_ENV=${KEEP_OPENBLAS_ENV:-0}

py=$here/work/venv/bin/python
log() { printf '[run.sh] %s\n' "$*" >&2; }
[ -x "$py" ] || { log "no work/venv: run ./setup.sh first"; exit 2; }
[ -x /usr/bin/time ] || { log "/usr/bin/time is missing (apt-get install time)"; exit 2; }
mkdir -p "$work"
battles=$work/battles.json
truth=$work/truth.json

log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

# ---------------------------------------------------------------- data
want="$N $M $SEED"
have=$("$py" -c 'import json,sys
try:
    t = json.load(open(sys.argv[1])); print(t["n"], t["models"], t["seed"])
except Exception: print("none")' "$truth")
if [ ! -s "$battles" ] || [ "$have" != "$want" ]; then
    log "writing $N battles over $M models (seed $SEED) to work/battles.json"
    "$py" make_battles.py --n "$N" --models "$M" --seed "$SEED" --out "$battles" --truth "$truth"
else
    log "reusing work/battles.json ($N battles, $M models, seed $SEED)"
fi
# Read the file once so that no tool pays for the first read from disk.
cat "$battles" > /dev/null

# ---------------------------------------------------------------- assay
rm -f "$work"/assay-*.time "$work"/assay-*.json "$work"/assay-*.wall "$work"/assay-*.err
assay_ok=0
if [ ! -x "$ASSAY_BIN" ]; then
    log "SKIP assay: no binary at $ASSAY_BIN (cargo build --release -p assay-cli, or set ASSAY_BIN)"
elif ! "$ASSAY_BIN" arena ratings --help > /dev/null 2>&1; then
    log "SKIP assay: '$ASSAY_BIN arena ratings' does not exist yet in this build"
else
    assay_ok=1
fi

# run_assay KIND I ROUNDS: one timed run; wall time from date, max RSS from /usr/bin/time -v.
run_assay() {
    local kind=$1 i=$2 rounds=$3 t0 t1 rc
    t0=$(date +%s%N)
    set +e
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$work/assay-$kind-$i.time" \
        "$ASSAY_BIN" arena ratings --input "$battles" --bootstrap "$rounds" --json $ASSAY_EXTRA_ARGS \
        > "$work/assay-$kind-$i.json" 2> "$work/assay-$kind-$i.err"
    rc=$?
    set -e
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 )) $rc $rounds" > "$work/assay-$kind-$i.wall"
    if [ "$rc" != 0 ]; then
        log "assay ($kind, --bootstrap $rounds) exited $rc (work/assay-$kind-$i.err):"
        tail -n 5 "$work/assay-$kind-$i.err" >&2
    fi
    return 0
}

if [ "$assay_ok" = 1 ]; then
    # "fit" runs: --bootstrap 0 (load + fit only); if assay refuses 0, --bootstrap 10, and the
    # report splits fit and per-round time from the two round counts.
    fit_rounds=0
    run_assay warm 0 0  # untimed: page cache, binary
    if [ "$(cut -d' ' -f2 "$work/assay-warm-0.wall")" != 0 ]; then
        fit_rounds=10
        log "assay refused --bootstrap 0: the short runs use --bootstrap $fit_rounds"
        run_assay warm 0 "$fit_rounds"
    fi
    log "assay: $("$ASSAY_BIN" --version 2>/dev/null || echo '?'), $RUNS runs each of --bootstrap $fit_rounds and --bootstrap $BOOTSTRAP"
    for i in $(seq 1 "$RUNS"); do
        run_assay fit "$i" "$fit_rounds"
        run_assay full "$i" "$BOOTSTRAP"
    done
fi

# ---------------------------------------------------------------- peers
if [ "$PEERS" = 1 ]; then
    log "peers ($PEER_TOOLS): load, one fit, $ROUNDS bootstrap rounds each; this takes minutes"
    envs=()
    [ "$KEEP_OPENBLAS_ENV" = 1 ] || envs=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
    env "${envs[@]}" "$py" peers.py --input "$battles" --truth "$truth" --rounds "$ROUNDS" \
        --tools "$PEER_TOOLS" --out "$work/peers.jsonl" 2> "$work/peers.stderr" \
        || log "peers.py failed (see work/peers.stderr); the table shows what it recorded"
elif [ -s "$work/peers.jsonl" ]; then
    log "reusing work/peers.jsonl from $(date -r "$work/peers.jsonl" '+%F %T')"
else
    log "PEERS=0 and no work/peers.jsonl: the table has no peers"
fi

# ---------------------------------------------------------------- report
"$py" report.py --work "$work" --bootstrap "$BOOTSTRAP" --results "$work/results.md" \
    --versions "$here/work/versions.env"
