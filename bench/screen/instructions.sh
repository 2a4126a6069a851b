#!/usr/bin/env bash
# Instructions a byte of keyword search (`Policy::scan_fast`, what a screen runs on each text)
# on the first 2 MB of each corpus, counted by valgrind's callgrind: the same on any machine
# and from run to run, where wall-clock times on a shared VM move by a third or more. Two
# builds of the `scan` example side by side (a before/after comparison).
#   NEW=PATH BASE=PATH  the scan examples (cargo build --release -p assay-policy --example scan;
#                       copy target/release/examples/scan aside before changing the code)
#   KINDS="bench uniform realistic worst"  corpora under work/ (run_mixed.sh makes them)
set -euo pipefail
# The builds' paths as given, from where the script was started.
NEW=$(realpath "${NEW:?NEW=path of the scan example}")
[ -z "${BASE:-}" ] || BASE=$(realpath "$BASE")
cd "$(dirname "$0")"
KINDS=${KINDS:-bench uniform realistic worst}
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
for kind in $KINDS; do
    sample=work/$kind/sample-2mb.jsonl
    [ -f "$sample" ] || head -c 2000000 "work/$kind/corpus/part-001.jsonl" | sed '$d' > "$sample"
    bytes=$(python3 -c 'import json,sys; print(sum(len(json.loads(l)["text"].encode()) for l in open(sys.argv[1])))' "$sample")
    line="$kind ($((bytes / 1000)) kB of text):"
    for build in ${BASE:+BASE} NEW; do
        bin=${!build}
        valgrind --tool=callgrind --callgrind-out-file=work/callgrind.out \
            --toggle-collect='assay_policy::Policy::scan_fast' "$bin" "work/$kind/keywords.txt" "$sample" > /dev/null 2>&1
        total=$(grep '^totals:' work/callgrind.out | cut -d' ' -f2)
        # The example runs scan_fast five times.
        line="$line $build $(python3 -c "print(f'{$total / 5 / $bytes:.1f}')") instructions a byte;"
    done
    echo "$line"
done
