#!/usr/bin/env bash
# Builds `assay` and the throughput benchmark in release mode, then runs the benchmark.
# Extra arguments go to the benchmark, e.g.:
#   ASSAY_HOME=/tmp/assay-home bench/throughput.sh --threads 2 --reps 5
# See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --release -p assay-cli -p assay-bench-throughput
exec "$target_dir/release/throughput" --assay "$target_dir/release/assay" "$@"
