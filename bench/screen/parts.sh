#!/usr/bin/env bash
# A screen by parts, on the corpora run_mixed.sh made: the pipeline alone (a one-domain list, no
# keywords), then with the corpus's 1,000,000 domains, then with its 10,000 terms too. Best of
# RUNS wall seconds each, assay on one thread; what each part costs is the difference.
#   KINDS="realistic short worst"  RUNS=3  ASSAY_BIN=PATH (default target/release/assay)
set -euo pipefail
# EPOCHREALTIME's decimal point, whatever the locale.
export LC_NUMERIC=C
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)
assay=${ASSAY_BIN:-$repo/target/release/assay}
RUNS=${RUNS:-3}
[ -x "$assay" ] || { echo "no $assay: cargo build --release -p assay-cli" >&2; exit 2; }
echo example.invalid > work/one-domain.txt
echo "| corpus | pipeline s | + domains s | + keywords s |"
echo "|---|---:|---:|---:|"
for kind in ${KINDS:-realistic short worst}; do
    dir=work/$kind
    [ -d "$dir/corpus" ] || { echo "no $dir/corpus: run run_mixed.sh first" >&2; exit 2; }
    row="| $kind |"
    for part in pipeline domains keywords; do
        case $part in
            pipeline) lists=(--domains work/one-domain.txt) ;;
            domains) lists=(--domains "$dir/domains.txt") ;;
            keywords) lists=(--domains "$dir/domains.txt" --keywords "$dir/keywords.txt") ;;
        esac
        best=
        for _ in $(seq 1 "$RUNS"); do
            rm -rf "$dir/out-parts"
            # The inputs read into the page cache first (run_mixed.sh says why).
            cat "$assay" "$dir/domains.txt" "$dir/keywords.txt" "$dir"/corpus/*.jsonl > /dev/null
            start=$EPOCHREALTIME
            "$assay" screen "$dir/corpus" "${lists[@]}" \
                --out "$dir/out-parts" --threads 1 --quiet > /dev/null 2> work/last.err \
                || { tail -5 work/last.err >&2; exit 1; }
            wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
            best=$(python3 -c 'import sys; print(f"{min(float(x) for x in sys.argv[1:] if x):.3f}")' "$wall" $best)
        done
        row="$row $best |"
    done
    echo "$row"
    rm -rf "$dir/out-parts"
done
