#!/usr/bin/env python3
"""Deterministic benchmark texts for bench/tokens: a mixed English/Chinese corpus and a worst case.

    python3 bench/tokens/make_text.py [--mb 100] [--worst-mb 20] [--seed 16] [--out bench/tokens/work]

Python standard library only. The same arguments give the same bytes (random.Random(seed); no
hash-order or locale dependence). Writes, one segment per line, UTF-8, '\\n' line ends:

mixed-<MB>mb.txt (about --mb megabytes)
    Segments of 20-400 characters (log-uniform lengths, so many short lines and a long tail),
    of three kinds:
      45 %  English: words drawn from a Zipfian distribution (s = 1.1) over a 60 000-word
            vocabulary. The head of the vocabulary is the words of FLORES-200 dev English
            (crates/tokens/data/flores200/en.txt) ranked by their frequency there; the tail is
            made-up words built from English syllables (long, rare, split into several tokens,
            as rare real words are). Capitalised sentence starts, commas, full stops, question
            marks, numbers (years, amounts, decimals), an occasional parenthesis or quote. The
            5 000 most frequent words make about 90 % of the running words, as in real English.
      40 %  Chinese: characters drawn from a Zipfian distribution (s = 1.15) over 8 000 Han
            characters: those of FLORES-200 dev Simplified and Traditional Chinese ranked by
            frequency, then further CJK Unified Ideographs (U+4E00-U+9FFF, seeded order).
            Clauses of 4-20 characters joined by ， 、 ； ： and ended by 。 ？ ！, an occasional
            「」 or “” quote, Arabic numerals, a Latin acronym or English word (as in real
            Chinese text). The 1 000 most frequent characters make about 89 % of the running
            characters, as in real Chinese; the tail holds rare characters that vocabularies
            split into bytes.
      15 %  mixed: code-switched lines, English and Chinese clauses alternating within a line.

worst-<MB>mb.txt (about --worst-mb megabytes)
    What makes byte-pair encoding slow. BPE merges inside each pre-tokenized piece (a regex
    match: a run of letters, of digits, of punctuation/symbols, of spaces). Two costs matter:
    per piece (regex match, vocabulary look-up, for Hugging Face an Encoding entry with offsets
    per token), and per merge inside a piece, where tiktoken-rs 0.7's merge loop is quadratic
    in the length of the piece (a 64 000-letter run without spaces: 0.05 MB/s against 1.8 MB/s
    for 1 000-letter runs, measured here) while Hugging Face's is O(n log n) with a word cache
    that misses on unique pieces. So the file is pieces that are each new, long or tiny. Lines
    of 200-3 000 characters (log-uniform), of these kinds, one in seven each:
      - runs of Latin letters with no space (base64- or hash-like blobs, random case, rarely
        '+' '/'): one regex piece per run, no cache hits;
      - one letter repeated ("aaaa…"), the classic quadratic case for tiktoken's merge loop;
      - runs of Han characters with no punctuation, from the CJK Extension A and B blocks
        (U+3400-U+4DBF, U+20000-U+2A6DF): rare characters, mostly absent from vocabularies, so
        each falls back to 3-4 single bytes that must be merged, and \\p{L}+ makes the whole
        run one piece;
      - emoji runs without spaces: ZWJ sequences (family, profession), skin-tone modifiers,
        flags, variation selectors: 4-byte characters in one [^\\s\\p{L}\\p{N}]+ piece;
      - long digit strings (dense in tokens: the patterns split digits into 1-3 digit pieces);
      - one-character pieces: a letter, digit or Han character, then a punctuation mark or
        space, repeated ("x,1.中;é!…"): the most pieces per byte;
      - long runs of spaces and tabs between short words (the \\s+(?!\\S) look-ahead of the
        tiktoken-style patterns backtracks over them).
    and, one line in twenty instead, a long piece: 4 000-32 000 letters with no space (a blob
    or one repeated letter), as an embedded base64 image or a minified file would be. These
    lines hold about a third of the bytes and, in tiktoken-rs, most of the time.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FLORES = ROOT / "crates" / "tokens" / "data" / "flores200"

EN_VOCAB = 60_000
ZH_VOCAB = 8_000
SYLLABLES = (
    "ab ac ad al am an ap ar as at ba be bi bo bu ca ce ci co cu da de di do du el em en er es "
    "ex fa fe fi fo fu ga ge gi go gu ha he hi ho hu id il im in io ir is it ja jo ka ke ki la "
    "le li lo lu ma me mi mo mu na ne ni no nu ob oc of om on op or os ou pa pe pi po pu qua "
    "ra re ri ro ru sa se si so su ta te ti to tu ul um un ur us va ve vi vo wa we wi wo ya "
    "yo za ze zo tion ment ness able ing ed er est ly ous ive al ic ism ist ity"
).split()


def zipf_cum_weights(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (r**s) for r in range(1, n + 1)))


class Sampler:
    """Draws items with Zipfian probabilities (rank r has weight 1/r^s)."""

    def __init__(self, rng: random.Random, items: list[str], s: float):
        self.rng, self.items = rng, items
        self.cum = zipf_cum_weights(len(items), s)
        self.total = self.cum[-1]

    def draw(self, k: int) -> list[str]:
        rng, cum, items, total, n = self.rng, self.cum, self.items, self.total, len(self.items) - 1
        return [items[min(bisect.bisect_right(cum, rng.random() * total), n)] for _ in range(k)]


def english_vocabulary(rng: random.Random) -> list[str]:
    text = (FLORES / "en.txt").read_text(encoding="utf-8")
    counts = Counter(w.lower() for w in re.findall(r"[A-Za-z]+(?:'[a-z]+)?", text))
    head = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    seen = set(head)
    words = list(head)
    while len(words) < EN_VOCAB:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 3, 4, 5))))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def chinese_vocabulary(rng: random.Random) -> list[str]:
    counts: Counter[str] = Counter()
    for name in ("zh-Hans.txt", "zh-Hant.txt"):
        text = (FLORES / name).read_text(encoding="utf-8")
        counts.update(c for c in text if 0x4E00 <= ord(c) <= 0x9FFF)
    head = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    seen = set(head)
    rest = [chr(cp) for cp in range(0x4E00, 0xA000) if chr(cp) not in seen]
    rng.shuffle(rest)
    return (head + rest)[:ZH_VOCAB]


def segment_length(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(20), math.log(400))))


class Mixed:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.en = Sampler(rng, english_vocabulary(rng), 1.1)
        self.zh = Sampler(rng, chinese_vocabulary(rng), 1.15)

    def number(self) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.3:
            return str(rng.randint(1900, 2030))
        if kind < 0.6:
            return str(rng.randint(1, 999))
        if kind < 0.8:
            return f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}"
        return f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}"

    def en_clause(self, chars: int) -> str:
        rng, out, n = self.rng, [], 0
        while n < chars:
            r = rng.random()
            if r < 0.03:
                w = self.number()
            elif r < 0.05:
                w = self.en.draw(1)[0].capitalize()  # a name
            else:
                w = self.en.draw(1)[0]
            out.append(w)
            n += len(w) + 1
            if rng.random() < 0.06 and n < chars:
                out[-1] += ","
        return " ".join(out)

    def en_line(self, chars: int) -> str:
        rng, parts, n = self.rng, [], 0
        while n < chars:
            clause = self.en_clause(min(chars - n, rng.randint(30, 160)))
            clause = clause[0].upper() + clause[1:]
            if rng.random() < 0.04:
                clause = f'"{clause}"'
            end = rng.choices((".", "?", "!", ";", ":"), (85, 6, 3, 3, 3))[0]
            if rng.random() < 0.03:
                clause += f" ({self.en_clause(rng.randint(5, 30))})"
            parts.append(clause + end)
            n += len(parts[-1]) + 1
        return " ".join(parts)

    def zh_clause(self, chars: int) -> str:
        rng, out, n = self.rng, [], 0
        while n < chars:
            run = rng.randint(4, 20)
            text = "".join(self.zh.draw(run))
            r = rng.random()
            if r < 0.05:
                text += self.number()
            elif r < 0.07:
                text += rng.choice(("AI", "GDP", "NASA", "USB", "WHO", "iPhone", "COVID-19"))
            elif r < 0.09:
                text = rng.choice(("「", "“")) + text + rng.choice(("」", "”"))
            out.append(text)
            n += len(text) + 1
        seps = rng.choices(("，", "、", "；", "："), (80, 10, 6, 4), k=len(out) - 1)
        line = out[0]
        for sep, text in zip(seps, out[1:]):
            line += sep + text
        return line

    def zh_line(self, chars: int) -> str:
        rng, parts, n = self.rng, [], 0
        while n < chars:
            clause = self.zh_clause(min(chars - n, rng.randint(10, 80)))
            parts.append(clause + rng.choices(("。", "？", "！"), (90, 6, 4))[0])
            n += len(parts[-1])
        return "".join(parts)

    def mixed_line(self, chars: int) -> str:
        rng, parts, n = self.rng, [], 0
        while n < chars:
            if rng.random() < 0.5:
                part = self.en_clause(rng.randint(10, 60))
            else:
                part = self.zh_clause(rng.randint(4, 30))
            parts.append(part)
            n += len(part) + 1
        return " ".join(parts) + rng.choice((".", "。"))

    def line(self) -> str:
        chars = segment_length(self.rng)
        r = self.rng.random()
        if r < 0.45:
            line = self.en_line(chars)
        elif r < 0.85:
            line = self.zh_line(chars)
        else:
            line = self.mixed_line(chars)
        return line[:400] if len(line) > 400 else line


EMOJI = [
    "\U0001F600", "\U0001F602", "\U0001F60D", "\U0001F914", "\U0001F44D", "\U0001F525",
    "\u2764\ufe0f", "\U0001F389", "\U0001F680", "\U0001F30D",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466",  # family
    "\U0001F469\U0001F3FD\u200d\U0001F52C",  # woman scientist, medium skin tone
    "\U0001F44B\U0001F3FF", "\U0001F9D1\U0001F3FB\u200d\U0001F4BB",
    "\U0001F1E8\U0001F1F3", "\U0001F1FA\U0001F1F8", "\U0001F1EF\U0001F1F5",  # flags
    "\U0001F3F3\ufe0f\u200d\U0001F308", "\u263a\ufe0f", "\U0001FAE0", "\U0001F9CB",
]
BLOB = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def worst_line(rng: random.Random) -> str:
    if rng.random() < 0.05:  # a long piece
        target = int(math.exp(rng.uniform(math.log(4000), math.log(32000))))
        if rng.random() < 0.5:
            return "".join(rng.choice(BLOB) for _ in range(target))
        return rng.choice("aeoxzQ") * target
    target = int(math.exp(rng.uniform(math.log(200), math.log(3000))))
    kind = rng.randrange(7)
    if kind == 0:  # blob of letters, no spaces; rarely + or /
        pool = BLOB * 20 + "+/"
        return "".join(rng.choice(pool) for _ in range(target))
    if kind == 1:  # one letter repeated
        return rng.choice("aeoxzQ") * target
    if kind == 2:  # rare CJK Extension A and B, no punctuation
        out = []
        for _ in range(target):
            if rng.random() < 0.5:
                out.append(chr(rng.randint(0x3400, 0x4DBF)))
            else:
                out.append(chr(rng.randint(0x20000, 0x2A6DF)))
        return "".join(out)
    if kind == 3:  # emoji run
        out, n = [], 0
        while n < target:
            e = rng.choice(EMOJI)
            out.append(e)
            n += len(e)
        return "".join(out)
    if kind == 4:  # digit strings
        out, n = [], 0
        while n < target:
            d = "".join(rng.choice("0123456789") for _ in range(rng.randint(50, 400)))
            out.append(d)
            n += len(d) + 1
        return " ".join(out)
    if kind == 5:  # one-character pieces: letter/digit/Han/accented, then punctuation or space
        return "".join(rng.choice("abcxyzQ0123456789中文字é") + rng.choice(",.;:!? -/") for _ in range(target // 2))
    # long whitespace runs between short words
    out, n = [], 0
    while n < target:
        w = "".join(rng.choice(BLOB) for _ in range(rng.randint(1, 8)))
        gap = "".join(rng.choice(" \t") if rng.random() < 0.1 else " " for _ in range(rng.randint(20, 200)))
        out.append(w + gap)
        n += len(out[-1])
    return "".join(out).rstrip() + "."


def write(path: Path, megabytes: float, make_line) -> None:
    limit = int(megabytes * 1_000_000)
    size = lines = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        while size < limit:
            line = make_line()
            f.write(line + "\n")
            size += len(line.encode("utf-8")) + 1
            lines += 1
    print(f"{path}: {lines} lines, {size / 1e6:.1f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=float, default=100, help="size of the mixed text (default 100)")
    p.add_argument("--worst-mb", type=float, default=20, help="size of the worst case (default 20)")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "work")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    mixed = Mixed(random.Random(a.seed))
    write(a.out / f"mixed-{a.mb:g}mb.txt", a.mb, mixed.line)
    rng = random.Random(a.seed + 1)
    write(a.out / f"worst-{a.worst_mb:g}mb.txt", a.worst_mb, lambda: worst_line(rng))


if __name__ == "__main__":
    main()
