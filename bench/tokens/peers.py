#!/usr/bin/env python3
"""Tokens per second of the Python tokenizer libraries, the peers of `assay tokens`.

    python3 bench/tokens/peers.py FILE TOKENIZER MODE [--threads N]

FILE is UTF-8, one segment per line (each line tokenized on its own, no special tokens).
TOKENIZER is `tiktoken:NAME` or `hf:PATH` (a tokenizer.json). MODE:

    tiktoken-loop    enc.encode_ordinary(line) for each line, on the calling thread
    tiktoken-batch   enc.encode_ordinary_batch(lines, num_threads=--threads) (default: 1;
                     tiktoken's own thread pool, which releases the GIL in Rust)
    hf-loop          tok.encode(line, add_special_tokens=False) for each line
    hf-batch         tok.encode_batch(lines, add_special_tokens=False); tokenizers' own rayon
                     pool. One thread: run with TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1
                     (run.sh does); all cores: TOKENIZERS_PARALLELISM=true, RAYON_NUM_THREADS unset.

Batches are of CHUNK lines (so the returned token lists of a 100 MB file do not all sit in
memory at once); the count is the sum of len(ids). Only the counting is timed: reading the
file, building the encoding and a warm-up call come first. Prints one JSON line like
crates/tokens/examples/count.rs.

tiktoken encodings are built offline, as scripts/tokens-fixtures.py does: the rank files
vendored in tiktoken-rs (~/.cargo/registry/src/*/tiktoken-rs-*/assets, or $TIKTOKEN_ASSETS)
with the pattern and special tokens of tiktoken_ext.openai_public.

Needs: pip install tiktoken tokenizers
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path

CHUNK = 4096


def tiktoken_encoding(name: str):
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read local paths directly, cache nothing
    import tiktoken
    import tiktoken.load
    import tiktoken_ext.openai_public as openai_public

    assets = os.environ.get("TIKTOKEN_ASSETS")
    if not assets:
        cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
        # Any tiktoken-rs version's assets: the rank files are the same, and load_tiktoken_bpe
        # checks each against the SHA-256 that tiktoken_ext.openai_public expects.
        found = sorted(glob.glob(str(cargo_home / "registry/src/*/tiktoken-rs-*/assets")))
        if not found:
            sys.exit("no tiktoken-rs-*/assets under ~/.cargo/registry/src (cargo fetch first)")
        assets = found[-1]

    def local_bpe(url: str, expected_hash: str | None = None) -> dict:
        return tiktoken.load.load_tiktoken_bpe(
            str(Path(assets) / url.rsplit("/", 1)[-1]), expected_hash=expected_hash
        )

    real = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = local_bpe
    try:
        return tiktoken.Encoding(**getattr(openai_public, name)())
    finally:
        openai_public.load_tiktoken_bpe = real


def chunks(lines: list[str]):
    for i in range(0, len(lines), CHUNK):
        yield lines[i : i + CHUNK]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("tokenizer")
    p.add_argument("mode", choices=["tiktoken-loop", "tiktoken-batch", "hf-loop", "hf-batch"])
    p.add_argument("--threads", type=int, default=1, help="tiktoken-batch's num_threads")
    a = p.parse_args()

    with open(a.file, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final line break is not a segment
    nbytes = sum(len(l.encode("utf-8")) for l in lines)

    tokens = 0
    if a.mode.startswith("tiktoken"):
        if not a.tokenizer.startswith("tiktoken:"):
            sys.exit(f"{a.mode} needs tiktoken:NAME")
        enc = tiktoken_encoding(a.tokenizer.split(":", 1)[1])
        enc.encode_ordinary("warm up")
        threads = 1 if a.mode == "tiktoken-loop" else a.threads
        start = time.perf_counter()
        if a.mode == "tiktoken-loop":
            for line in lines:
                tokens += len(enc.encode_ordinary(line))
        else:
            for batch in chunks(lines):
                tokens += sum(map(len, enc.encode_ordinary_batch(batch, num_threads=a.threads)))
        seconds = time.perf_counter() - start
    else:
        if not a.tokenizer.startswith("hf:"):
            sys.exit(f"{a.mode} needs hf:PATH")
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(a.tokenizer.split(":", 1)[1])
        tok.encode("warm up", add_special_tokens=False)
        if a.mode == "hf-loop":
            threads = 1
        elif os.environ.get("TOKENIZERS_PARALLELISM", "").lower() in ("false", "0", "off", "no"):
            threads = 1
        else:
            threads = int(os.environ.get("RAYON_NUM_THREADS") or os.cpu_count() or 1)
        start = time.perf_counter()
        if a.mode == "hf-loop":
            for line in lines:
                tokens += len(tok.encode(line, add_special_tokens=False))
        else:
            for batch in chunks(lines):
                tokens += sum(len(e) for e in tok.encode_batch(batch, add_special_tokens=False))
        seconds = time.perf_counter() - start

    print(json.dumps({
        "impl": "python",
        "mode": a.mode,
        "tokenizer": a.tokenizer,
        "file": a.file,
        "threads": threads,
        "segments": len(lines),
        "tokens": tokens,
        "bytes": nbytes,
        "seconds": round(seconds, 6),
        "tokens_per_s": round(tokens / seconds, 1),
        "mb_per_s": round(nbytes / 1e6 / seconds, 3),
    }))


if __name__ == "__main__":
    main()
