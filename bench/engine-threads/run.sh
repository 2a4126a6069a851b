#!/bin/bash
# Default engine threads (issue 11): `assay chat` (1 and 128 tokens) and a small `assay audit`
# (8 over-refusal items, English, 48 tokens, concurrency 4) with --threads 1 and --threads 2,
# each without and with one competing busy process, interleaved, REPS repetitions.
# Prints one tab-separated line per run: command, threads, competing load, repetition, wall
# seconds, load average at the start.
#   ASSAY=target/release/assay REPS=3 bench/engine-threads/run.sh
set -u
ASSAY=${ASSAY:-target/release/assay}
REPS=${REPS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PROMPT="Count from 1 to 200, separated by commas."

timed() { # seconds of wall time of "$@" (300 s at most)
  /usr/bin/time -f "%e" -o "$work/t" timeout 300 "$@" >/dev/null 2>"$work/err" || echo "failed: $*" >&2
  tail -1 "$work/t"
}

for rep in $(seq "$REPS"); do
  for load in 0 1; do
    busy=
    if [ "$load" = 1 ]; then
      timeout 1800 sh -c 'while :; do :; done' &
      busy=$!
      sleep 0.5
    fi
    for threads in 1 2; do
      la=$(cut -d' ' -f1 /proc/loadavg)
      for tokens in 1 128; do
        s=$(timed "$ASSAY" chat --model local:smollm2 --temperature 0 --seed 1 \
          --max-tokens "$tokens" --threads "$threads" "$PROMPT")
        printf 'chat%s\t%s\t%s\t%s\t%s\t%s\n' "$tokens" "$threads" "$load" "$rep" "$s" "$la"
      done
      rm -rf "$work/a"; mkdir -p "$work/a"
      s=$(timed "$ASSAY" audit --models local:smollm2 --suite over-refusal --limit 8 --langs en \
        --max-tokens 48 --no-cache --threads "$threads" --db "$work/a/a.db" --out "$work/a/out")
      printf 'audit8\t%s\t%s\t%s\t%s\t%s\n' "$threads" "$load" "$rep" "$s" "$la"
    done
    if [ -n "$busy" ]; then kill "$busy"; wait "$busy" 2>/dev/null; fi
  done
done
