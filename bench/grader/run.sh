#!/usr/bin/env bash
# Refusal grader agreement benchmark (issue 12, point 1): assay's refusal grader vs human labels on
# XSTest v2 (5 models) and a deterministic dev / held-out split of GPTFuzz train.csv, with XSTest's
# 21-phrase string match as the baseline on the same rows. See grader_bench.py for the label
# mappings and the split; intermediate files go to bench/grader/work/ (gitignored).
#
#   ASSAY_BIN=target/release/assay DATA=../shared/data bench/grader/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export ASSAY_BIN="${ASSAY_BIN:-$root/target/release/assay}"
export DATA="${DATA:-$root/../shared/data}"
export WORK="${WORK:-$here/work}"
command -v python3 >/dev/null || { echo "grader bench: python3 not found" >&2; exit 2; }
[ -x "$ASSAY_BIN" ] || { echo "grader bench: missing assay binary: $ASSAY_BIN (set ASSAY_BIN)" >&2; exit 2; }
[ -d "$DATA" ] || { echo "grader bench: missing data dir: $DATA (set DATA)" >&2; exit 2; }
exec python3 "$here/grader_bench.py"
