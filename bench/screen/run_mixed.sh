#!/usr/bin/env bash
# Screening throughput on corpora whose documents mix English and Chinese (make_mixed.py:
# uniform, realistic, worst, short): assay screen on one thread side by side with
# `rg -c -F -f keywords -j1` on the same files (ripgrep's raw search) and with `rg -v` writing
# the lines with no term to a file (a screen done with ripgrep, which writes what it keeps, as
# assay does). They alternate RUNS times per corpus in one invocation, so that all see the same
# load on a shared machine, and the table gives the best of each and the ratios. Also times
# assay on a one-document corpus with the same lists (the fixed cost of loading 1,000,000
# domains and 10,000 terms), and reports the throughput without it. Needs ./setup.sh (for rg)
# and a release build of assay.
#   MB=400       size of each corpus (generated when missing, under work/<kind>)
#   RUNS=3       alternated runs of assay and rg per corpus
#   KINDS="uniform realistic worst short"  (also `bench`: make_corpus.py's shape, not mixed)
#   BASE_BIN=PATH  another build of assay, alternated with the first (a before/after comparison)
# assay keeps the index of a domain list of a megabyte or more in $ASSAY_HOME/domain-index, and the
# matcher of a keyword list of a thousand terms or more in $ASSAY_HOME/keyword-index (here
# work/home unless set): the first run of each corpus writes them, the others read them back, so
# the best of RUNS is a run that read them, as every screen after the first with the same lists is.
set -euo pipefail
# EPOCHREALTIME's decimal point, whatever the locale.
export LC_NUMERIC=C
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)
export ASSAY_HOME=${ASSAY_HOME:-$PWD/work/home}
assay=${ASSAY_BIN:-$repo/target/release/assay}
rg=${RG_BIN:-work/rg/bin/rg}
MB=${MB:-400}
RUNS=${RUNS:-3}
KINDS=${KINDS:-uniform realistic worst short}
[ -x "$assay" ] || { echo "no $assay: cargo build --release -p assay-cli" >&2; exit 2; }
[ -x "$rg" ] || { echo "no $rg: run ./setup.sh first" >&2; exit 2; }
results=work/mixed-results.tsv
: > "$results"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# warm FILE...: the files read into the page cache just before a timed run. These VMs give idle
# cache back to the host: a fifth of a 100 MB corpus read a moment ago is gone 20 s later
# (`fincore`), and a run that then reads it from disk times the disk. Each command gets its
# inputs, lists and program warmed the same way.
warm() { cat "$@" > /dev/null; }

# timed NAME COMMAND...: wall seconds of one run (to the millisecond: time's own are
# hundredths, an eighth of the start-up), appended to results. What the run before wrote is
# removed and written back to disk first, outside the time: `> work/last.out` truncated the
# 100 MB that `rg -v` had just written inside the next run's time: the base build, timed after
# it, paid that from the tenth pass to the fifteenth (one build timed as both read 1.02-1.07x).
timed() {
    local name=$1; shift
    rm -f work/last.out
    sync
    local start=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o work/time.txt "$@" > work/last.out 2> work/last.err || {
        echo "$name failed:" >&2; tail -5 work/last.err >&2; return 1; }
    local wall rss
    wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    read -r rss < work/time.txt
    printf '%s\t%s\t%s\n' "$name" "$wall" "$((rss / 1024))" >> "$results"
    echo "$name: $wall s, $((rss / 1024)) MB" >&2
}

for kind in $KINDS; do
    dir=work/$kind
    if [ ! -d "$dir/corpus" ]; then
        # `bench`: the shape of run.sh's corpus (half English, half Chinese documents).
        if [ "$kind" = bench ]; then
            python3 make_corpus.py --out "$dir" --mb "$MB" --files 4
        else
            python3 make_mixed.py --kind "$kind" --out "$dir" --mb "$MB"
        fi
    fi
    bytes=$(cat "$dir"/corpus/*.jsonl | wc -c)
    printf '%s\tbytes\t%s\n' "$kind" "$bytes" >> "$results"
    # The fixed cost: the same lists on one document.
    mkdir -p "$dir/one"
    head -1 "$dir/corpus/part-000.jsonl" > "$dir/one/one.jsonl"
    lists=("$dir/keywords.txt" "$dir/domains.txt")
    for r in $(seq 1 "$RUNS"); do
        rm -rf "$dir/out-one"
        warm "$assay" "${lists[@]}"
        timed "$kind: assay startup" "$assay" screen "$dir/one" --keywords "$dir/keywords.txt" \
            --domains "$dir/domains.txt" --out "$dir/out-one" --threads 1 --quiet
    done
    for r in $(seq 1 "$RUNS"); do
        rm -rf "$dir/out"
        warm "$assay" "${lists[@]}" "$dir"/corpus/*.jsonl
        timed "$kind: assay screen, 1 thread" "$assay" screen "$dir/corpus" --keywords "$dir/keywords.txt" \
            --domains "$dir/domains.txt" --out "$dir/out" --threads 1 --quiet
        warm "$rg" "${lists[0]}" "$dir"/corpus/*.jsonl
        timed "$kind: rg -c -F -f keywords, 1 thread" "$rg" -c -F -f "$dir/keywords.txt" -j1 "$dir/corpus"
        # A screen done with ripgrep: the lines with no term written out (to work/last.out).
        warm "$rg" "${lists[0]}" "$dir"/corpus/*.jsonl
        timed "$kind: rg -v -F -f keywords, 1 thread" "$rg" -v --no-filename -F -f "$dir/keywords.txt" -j1 "$dir/corpus"
        if [ -n "${BASE_BIN:-}" ]; then
            rm -rf "$dir/out-base"
            warm "$BASE_BIN" "${lists[@]}" "$dir"/corpus/*.jsonl
            timed "$kind: base assay screen, 1 thread" "$BASE_BIN" screen "$dir/corpus" --keywords "$dir/keywords.txt" \
                --domains "$dir/domains.txt" --out "$dir/out-base" --threads 1 --quiet
        fi
    done
    if [ -n "${BASE_BIN:-}" ]; then
        # The same verdicts from both builds.
        cmp <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["removed"], r["categories"])' "$dir/out/report.json") \
            <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["removed"], r["categories"])' "$dir/out-base/report.json") \
            && echo "$kind: the same verdicts from both builds" >&2
    fi
done

python3 - "$results" <<'PY' | tee work/mixed-results.md
import sys, collections
best, size = collections.OrderedDict(), {}
for line in open(sys.argv[1]):
    name, a, b = line.rstrip("\n").split("\t")
    if a == "bytes":
        size[name] = int(b)
        continue
    wall = float(a)
    if name not in best or wall < best[name]:
        best[name] = wall
has_base = any(n.endswith("base assay screen, 1 thread") for n in best)
print("| corpus | MB | assay s | assay MB/s | assay MB/s without startup | rg s | rg MB/s | assay ÷ rg speed"
      " | rg -v s (kept lines written) | assay ÷ rg -v speed |" + (" base build |" if has_base else ""))
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---|" if has_base else ""))
for kind, b in size.items():
    mb = b / 1e6
    a = best.get(f"{kind}: assay screen, 1 thread")
    s = best.get(f"{kind}: assay startup")
    r = best.get(f"{kind}: rg -c -F -f keywords, 1 thread")
    if a is None or r is None:
        continue
    steady = mb / (a - s) if s is not None and a > s else float("nan")
    kept = best.get(f"{kind}: rg -v -F -f keywords, 1 thread", float("nan"))
    base = best.get(f"{kind}: base assay screen, 1 thread")
    extra = f" base {base:.3f} s ({mb / base:.0f} MB/s; this build {base / a:.2f}× its speed) |" if base else ""
    print(f"| {kind} | {mb:.0f} | {a:.3f} | {mb / a:.0f} | {steady:.0f} | {r:.3f} | {mb / r:.0f} | {r / a:.2f}× | {kept:.3f} | {kept / a:.2f}× |{extra}")
PY
