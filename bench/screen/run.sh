#!/usr/bin/env bash
# Screening throughput: `assay screen` (1 and 2 threads) against datatrove (URLFilter + a
# keyword filter on the same lists, 1 and 2 workers; ahocorasick_rs, and pyahocorasick on one
# worker) and `rg -c -F -f keywords` (raw search, no JSON) on the same generated corpus.
# Prints a table and writes work/results.md. Needs ./setup.sh and a release build of assay.
#   MB=1100   corpus size (regenerated when missing)
#   RUNS=3    timed runs of assay (per thread count) and of rg (the table shows the best; the
#             machine's timings vary by up to a third from run to run)
#   PEERS=1   0: assay and rg only
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
repo=$(cd ../.. && pwd)
assay=${ASSAY_BIN:-$repo/target/release/assay}
py=$here/work/venv/bin/python
rg=$here/work/rg/bin/rg
MB=${MB:-1100}
RUNS=${RUNS:-3}
PEERS=${PEERS:-1}
[ -x "$assay" ] || { echo "no $assay: cargo build --release -p assay-cli" >&2; exit 2; }
[ -x "$py" ] && [ -x "$rg" ] || { echo "run ./setup.sh first" >&2; exit 2; }
[ -d work/corpus ] || "$py" make_corpus.py --out work --mb "$MB"
size=$(cat work/corpus/*.jsonl | wc -c)
mb=$(echo "scale=1; $size / 1000000" | bc)
cat work/corpus/*.jsonl > /dev/null  # warm the page cache for everyone
echo "corpus: $mb MB, $(cat work/corpus/*.jsonl | wc -l) documents; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results=work/results.tsv
: > "$results"

# time_it NAME COMMAND...: wall seconds and max RSS (MB) of one run, appended to results.
time_it() {
    local name=$1; shift
    /usr/bin/time -f "%e %M" -o work/time.txt "$@" > work/last.out 2> work/last.err || {
        echo "$name failed:" >&2; tail -5 work/last.err >&2; return 0; }
    read -r wall rss < work/time.txt
    printf '%s\t%s\t%s\n' "$name" "$wall" "$((rss / 1024))" >> "$results"
    echo "$name: $wall s, $((rss / 1024)) MB" >&2
}

for t in 1 2; do
    for r in $(seq 1 "$RUNS"); do
        rm -rf "work/out-assay-$t"
        time_it "assay screen, $t thread(s)" "$assay" screen work/corpus --keywords work/keywords.txt \
            --domains work/domains.txt --out "work/out-assay-$t" --threads "$t" --quiet
    done
done
cp work/last.out work/assay-summary.txt
for r in $(seq 1 "$RUNS"); do
    time_it "rg -c -F -f keywords, 1 thread" "$rg" -c -F -f work/keywords.txt -j1 work/corpus
    time_it "rg -c -F -f keywords, 2 threads" "$rg" -c -F -f work/keywords.txt -j2 work/corpus
done
if [ "$PEERS" = 1 ]; then
    for w in 1 2; do
        rm -rf "work/out-dt-$w"
        time_it "datatrove + ahocorasick_rs, $w worker(s)" "$py" peers_datatrove.py --corpus work/corpus \
            --keywords work/keywords.txt --domains work/domains.txt --out "work/out-dt-$w" --workers "$w"
    done
    rm -rf work/out-dt-py
    time_it "datatrove + pyahocorasick, 1 worker" "$py" peers_datatrove.py --corpus work/corpus \
        --keywords work/keywords.txt --domains work/domains.txt --out work/out-dt-py --workers 1 --pyahocorasick
fi

"$py" - "$results" "$mb" <<'PY' | tee work/results.md
import sys, collections
path, mb = sys.argv[1], float(sys.argv[2])
best = collections.OrderedDict()
for line in open(path):
    name, wall, rss = line.rstrip("\n").split("\t")
    wall = float(wall)
    if name not in best or wall < best[name][0]:
        best[name] = (wall, int(rss))
rate = {n: mb / w for n, (w, _) in best.items()}
a1 = rate.get("assay screen, 1 thread(s)")
print(f"| tool | wall s | MB/s | max RSS MB | assay 1 thread ÷ tool |")
print("|---|---:|---:|---:|---:|")
for n, (w, rss) in best.items():
    ratio = f"{a1 / rate[n]:.2f}×" if a1 else "—"
    print(f"| {n} | {w:.2f} | {rate[n]:.0f} | {rss} | {ratio} |")
PY
