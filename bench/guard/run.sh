#!/usr/bin/env bash
# Guard benchmark: `assay guard` (retract mode) against LiteLLM's proxy with an equivalent
# keyword guardrail (keyword_guardrail.py), both with the same 10,000 terms and in front of the
# same local streaming upstream (tools/: stream-upstream), measured with the same load
# generator (stream-load), side by side:
#   latency: a paced upstream (CHUNKS chunks, INTERVAL_MS apart) at 1, 100 and 1,000
#            concurrent streams: time to first text and per-chunk latency (upstream send stamp
#            to client arrival), directly and through each proxy;
#   throughput: an unpaced upstream at 100 concurrent streams, THROUGHPUT_REQUESTS answers.
# Prints a table and writes work/results.md. Needs ./setup.sh and a release build of assay.
#   CHUNKS=100 INTERVAL_MS=10 STREAMS="1 100 1000" THROUGHPUT_REQUESTS=2000 LITELLM_WORKERS=2
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
repo=$(cd ../.. && pwd)
assay=${ASSAY_BIN:-$repo/target/release/assay}
CHUNKS=${CHUNKS:-100}
INTERVAL_MS=${INTERVAL_MS:-10}
STREAMS=${STREAMS:-"1 100 1000"}
THROUGHPUT_REQUESTS=${THROUGHPUT_REQUESTS:-2000}
LITELLM_WORKERS=${LITELLM_WORKERS:-2}
[ -x "$assay" ] || { echo "no $assay: cargo build --release -p assay-cli" >&2; exit 2; }
[ -x work/venv/bin/litellm ] || { echo "run ./setup.sh first" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo build --release -q --manifest-path tools/Cargo.toml --target-dir work/tools
tools=$here/work/tools/release
[ -f work/terms.txt ] || python3 make_terms.py
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

# start NAME COMMAND...: runs it in the background with stdout to work/NAME.out.
start() {
    local name=$1; shift
    "$@" > "work/$name.out" 2> "work/$name.err" &
    pids+=($!)
}
first_line() {
    for _ in $(seq 1 300); do
        [ -s "work/$1.out" ] && { head -1 "work/$1.out"; return; }
        sleep 0.1
    done
    echo "$1 did not start:" >&2; cat "work/$1.err" >&2; exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start up-paced "$tools/stream-upstream" 0 "$CHUNKS" "$INTERVAL_MS"
start up-fast "$tools/stream-upstream" 0 "$CHUNKS" 0
paced=$(first_line up-paced)
fast=$(first_line up-fast)
rm -f work/guard.db work/keys.toml
# Both proxies check an API key on every request.
key=$("$assay" guard keys add --file work/keys.toml --id bench)
master=sk-bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
for kind in paced fast; do
    port=$([ $kind = paced ] && echo "$paced" || echo "$fast")
    start "guard-$kind" "$assay" guard --upstream "http://127.0.0.1:$port/v1#bench" \
        --keywords work/terms.txt --mode retract --port 0 --db work/guard.db --keys work/keys.toml
done
guard_paced=$(first_line guard-paced | grep -o 'http://[0-9.:]*' | head -1)
guard_fast=$(first_line guard-fast | grep -o 'http://[0-9.:]*' | head -1)
lport=$(free_port)
cat > work/litellm.yaml <<YAML
model_list:
  - model_name: bench-paced
    litellm_params: {model: openai/bench, api_base: "http://127.0.0.1:$paced/v1", api_key: none}
  - model_name: bench-fast
    litellm_params: {model: openai/bench, api_base: "http://127.0.0.1:$fast/v1", api_key: none}
guardrails:
  - guardrail_name: keywords
    litellm_params:
      guardrail: keyword_guardrail.KeywordGuardrail
      mode: [pre_call, post_call]
      default_on: true
YAML
(cd work && BENCH_TERMS=$here/work/terms.txt PYTHONPATH=$here LITELLM_LOCAL_MODEL_COST_MAP=True \
    LITELLM_MASTER_KEY=$master \
    exec "$here/work/venv/bin/litellm" --config litellm.yaml --host 127.0.0.1 --port "$lport" \
    --num_workers "$LITELLM_WORKERS" > litellm.out 2> litellm.err) &
pids+=($!)
litellm=http://127.0.0.1:$lport
for _ in $(seq 1 600); do
    curl -sf "$litellm/health/liveliness" > /dev/null && break
    sleep 0.2
done
curl -sf "$litellm/health/liveliness" > /dev/null || { echo "LiteLLM did not start:" >&2; tail -20 work/litellm.err >&2; exit 1; }

# Both proxies really scan: a listed term planted in the answer (split across two chunks) is
# stopped by each.
term=$(sed -n '3p' work/terms.txt)
check() {
    local name=$1 url=$2 model=$3 auth=$4
    body=$(curl -s "$url/v1/chat/completions" -H 'Content-Type: application/json' -H "Authorization: Bearer $auth" \
        -d "{\"model\":\"$model\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"plant: $term\"}]}")
    if echo "$body" | grep -q "$term"; then
        echo "$name let the planted term through" >&2; exit 1
    fi
    echo "$name stops a planted term: $(echo "$body" | grep -o -E 'content_filter|blocked by the keyword guardrail|retract' | sort -u | tr '\n' ' ')" >&2
}
check "assay guard" "$guard_paced" bench "$key"
check "LiteLLM" "$litellm" bench-paced "$master"

results=work/results.jsonl
: > "$results"
load() {
    local name=$1 phase=$2 url=$3 model=$4 streams=$5 requests=$6 auth=${7:-none}
    local out
    out=$(timeout 600 "$tools/stream-load" "$url/v1" "$model" "$streams" "$requests" "$CHUNKS" "$auth" || echo '{}')
    echo "{\"name\": \"$name\", \"phase\": \"$phase\", \"result\": $out}" >> "$results"
    echo "$phase $name, $streams streams: $out" >&2
}
for c in $STREAMS; do
    r=$(( c * 3 > 20 ? c * 3 : 20 ))
    load direct latency "http://127.0.0.1:$paced" bench "$c" "$r"
    load "assay guard" latency "$guard_paced" bench "$c" "$r" "$key"
    load LiteLLM latency "$litellm" bench-paced "$c" "$r" "$master"
done
load direct throughput "http://127.0.0.1:$fast" bench 100 "$THROUGHPUT_REQUESTS"
load "assay guard" throughput "$guard_fast" bench 100 "$THROUGHPUT_REQUESTS" "$key"
load LiteLLM throughput "$litellm" bench-fast 100 "$THROUGHPUT_REQUESTS" "$master"
curl -s -H "Authorization: Bearer $key" "$guard_paced/metrics" > work/guard-metrics.txt

python3 - "$results" work/guard-metrics.txt <<'PY' | tee work/results.md
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def get(name, phase, streams=None):
    for r in rows:
        res = r["result"]
        if r["name"] == name and r["phase"] == phase and (streams is None or res.get("streams") == streams):
            return res
    return {}
f = lambda v, d=1: "—" if v is None or v != v else f"{v:.{d}f}"
print("| phase | streams | path | answers ok / errors | answers/s | TTFT p50 / p99 ms | chunk latency p50 / p99 ms | added p50 / p99 ms |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for phase in ["latency", "throughput"]:
    for streams in sorted({r["result"].get("streams") for r in rows if r["phase"] == phase and r["result"]}):
        base = get("direct", phase, streams)
        for name in ["direct", "assay guard", "LiteLLM"]:
            r = get(name, phase, streams)
            if not r:
                print(f"| {phase} | {streams} | {name} | failed | | | | |")
                continue
            added = "—" if name == "direct" else f"{f(r['chunk_p50_ms'] - base.get('chunk_p50_ms', float('nan')), 2)} / {f(r['chunk_p99_ms'] - base.get('chunk_p99_ms', float('nan')), 2)}"
            print(f"| {phase} | {streams} | {name} | {r['completed']} / {r['errors']} | {f(r['requests_per_s'])} | "
                  f"{f(r['ttft_p50_ms'])} / {f(r['ttft_p99_ms'])} | {f(r['chunk_p50_ms'], 2)} / {f(r['chunk_p99_ms'], 2)} | {added} |")
g, l = get("assay guard", "throughput"), get("LiteLLM", "throughput")
if g and l and l.get("requests_per_s"):
    print(f"\nthroughput at 100 streams: assay guard {g['requests_per_s']:.0f} answers/s, LiteLLM {l['requests_per_s']:.1f} answers/s: {g['requests_per_s'] / l['requests_per_s']:.1f}×")
# The guard's own time per chunk, from its histogram (upper bucket bounds).
buckets = []
for line in open(sys.argv[2]):
    if line.startswith("assay_guard_chunk_seconds_bucket"):
        le = line.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), int(line.split()[-1])))
if buckets:
    total = buckets[-1][1]
    def q(p):
        for le, c in buckets:
            if c >= p * total:
                return le * 1000
    print(f"assay guard's own work per chunk (its /metrics histogram, {total} chunks): p50 ≤ {q(0.5)} ms, p99 ≤ {q(0.99)} ms")
PY
