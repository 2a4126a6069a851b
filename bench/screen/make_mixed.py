#!/usr/bin/env python3
"""Writes screening inputs whose documents mix English and Chinese, deterministically
(seeded), in one of four kinds (each with its own 10,000 terms and the bench's 1,000,000
blocked domains, so that only the text differs from make_corpus.py's corpus):

- uniform: words and characters drawn uniformly from the vocabularies of make_corpus.py, each
  document a mix of English and Chinese segments (the corpus of issue 14, item 16, which ran
  at ~90 MB/s);
- realistic: Zipfian English words (the 150 most common English words, then 30,000 made-up
  words, frequency ~ 1/rank) and Zipfian Chinese characters (the 500 of make_corpus.py in
  their frequency order, then 3,500 other CJK ideographs), Chinese punctuation, sentences with
  capitals; documents of 300 B to 12 KB alternating English and Chinese segments; terms like a
  real keyword library's, rare in text but with common beginnings (see the comment on terms
  below); 1% of documents carry a term;
- worst: built against the scanner's fast paths: scripts change every 1-3 words or 1-4
  characters, with no space between them half of the time (no 64-byte block of one script);
  the English words are the first words of listed terms (every word a possible term start,
  two-word term beginnings that do not go on into the term), the Chinese the beginnings of
  listed Chinese terms cut short, capitalized words, full-width letters, short documents
  (100 B to 2 KB) with long URLs;
- short: the realistic kind's text, vocabularies and terms, in short documents like posts,
  chat messages or question-answer pairs (3-40 English words or 5-80 Chinese characters, a
  third of them both; about 250 bytes a line with the URL), so that what a screen costs a
  document, not a byte, shows.

Outputs: OUT/corpus/part-NNN.jsonl ({"id", "url", "text"}), OUT/keywords.txt, OUT/domains.txt.
Standard library only. Usage: make_mixed.py --kind realistic --out work/realistic --mb 200
"""
import argparse
import bisect
import itertools
import os
import random

from make_corpus import HANZI, word, write_corpus, write_domains

COMMON_EN = (
    "the of and to a in is you that it he was for on are as with his they i at be this have "
    "from or one had by word but not what all were we when your can said there use an each "
    "which she do how their if will up other about out many then them these so some her would "
    "make like him into time has look two more write go see number no way could people my "
    "than first water been call who oil its now find long down day did get come made may part "
    "over new sound take only little work know place year live me back give most very after "
    "thing our just name good sentence man think say great where help through much before line "
    "right too means old any same tell boy follow came want show also around form three small"
).split()


def zipf_cum_weights(n, s=1.0):
    return list(itertools.accumulate(1.0 / (r ** s) for r in range(1, n + 1)))


def cjk_chars(rng, count):
    """HANZI in its frequency order, then other ideographs of U+4E00-U+9FA5 shuffled."""
    seen = set(HANZI)
    others = [chr(c) for c in range(0x4E00, 0x9FA6) if chr(c) not in seen]
    rng.shuffle(others)
    return list(HANZI) + others[: count - len(HANZI)]


class Source:
    """Draws words and characters, uniformly or by Zipf weights."""

    def __init__(self, rng, words, chars, zipf):
        self.rng = rng
        self.words = words
        self.chars = chars
        self.word_cw = zipf_cum_weights(len(words)) if zipf else None
        self.char_cw = zipf_cum_weights(len(chars)) if zipf else None

    def en(self, k):
        return self.rng.choices(self.words, cum_weights=self.word_cw, k=k)

    def zh(self, k):
        return self.rng.choices(self.chars, cum_weights=self.char_cw, k=k)


def english_segment(rng, src, n):
    out = []
    while n > 0:
        k = min(n, rng.randint(6, 18))
        words = src.en(k)
        words[0] = words[0].capitalize()
        out.append(" ".join(words) + rng.choice([".", ".", ",", "?"]))
        n -= k
    return " ".join(out)


def chinese_segment(rng, src, n):
    out = []
    while n > 0:
        k = min(n, rng.randint(8, 25))
        out.append("".join(src.zh(k)) + rng.choice("，。，。；、？"))
        n -= k
    return "".join(out)


def mixed_doc(rng, src, target_bytes):
    """Alternating English (20-120 words) and Chinese (20-150 characters) segments."""
    parts, size = [], 0
    english = rng.random() < 0.5
    while size < target_bytes:
        if english:
            seg = english_segment(rng, src, rng.randint(20, 120))
        else:
            seg = chinese_segment(rng, src, rng.randint(20, 150))
        parts.append(seg)
        size += len(seg.encode("utf-8")) + 1
        english = not english
    return " ".join(parts)


FULL_WIDTH = {c: chr(ord(c) - 0x21 + 0xFF01) for c in "abcdefghijklmnopqrstuvwxyz"}


def short_doc(rng, src):
    """One short English or Chinese segment, or both in a random order."""
    en = english_segment(rng, src, rng.randint(3, 40))
    zh = chinese_segment(rng, src, rng.randint(5, 80))
    r = rng.random()
    if r < 1 / 3:
        return en
    if r < 2 / 3:
        return zh
    return " ".join([en, zh] if rng.random() < 0.5 else [zh, en])


def worst_doc(rng, starts_en, starts_zh, target_bytes):
    """Scripts switching every 1-3 words / 1-4 characters, every word a term's first word."""
    parts, size = [], 0
    while size < target_bytes:
        words = [rng.choice(starts_en) for _ in range(rng.randint(1, 3))]
        r = rng.random()
        if r < 0.2:
            words[0] = words[0].capitalize()
        elif r < 0.25:
            words[0] = "".join(FULL_WIDTH.get(c, c) for c in words[0])
        zh = "".join(rng.choice(starts_zh) for _ in range(rng.randint(1, 2)))
        sep = "" if rng.random() < 0.5 else " "
        piece = " ".join(words) + sep + zh + sep
        parts.append(piece)
        size += len(piece.encode("utf-8"))
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["uniform", "realistic", "worst", "short"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20261203)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    if a.kind == "uniform":
        vocab = [word(rng) for _ in range(20000)]
        chars = list(HANZI)
        src = Source(rng, vocab, chars, zipf=False)
    else:
        made = sorted({word(rng) for _ in range(40000)} - set(COMMON_EN), key=lambda w: (len(w), w))
        # Shorter made-up words are more common, as in English; not strictly by length.
        made = sorted(made[:30000], key=lambda w: len(w) + rng.random() * 4)
        vocab = COMMON_EN + made
        chars = cjk_chars(rng, 4000)
        src = Source(rng, vocab, chars, zipf=True)

    # Terms. Uniform: as make_corpus.py (English phrases of 2-3 words, Chinese words of 3-4
    # characters, uniformly drawn). Otherwise like a real keyword library, whose terms are
    # rare in text while their beginnings are common: English single words that the text never
    # uses (as rare technical terms), phrases of 2-3 words whose first word is drawn by
    # frequency past the 60 most common and whose second is past rank 300; Chinese words of
    # 2 characters drawn by frequency past ranks 30 and 1,000, and of 3-4 characters whose
    # first character is drawn by frequency (the most common ones included) and the others
    # past rank 30.
    en_terms, zh_terms = set(), set()
    if a.kind == "uniform":
        while len(en_terms) < 5000:
            en_terms.add(" ".join(rng.choice(vocab) for _ in range(rng.randint(2, 3))))
        while len(zh_terms) < 5000:
            zh_terms.add("".join(rng.choice(chars) for _ in range(rng.randint(3, 4))))
    else:
        def tail(start):
            return Source(rng, vocab[start:], chars[start:], zipf=True)
        first_en, second_en = tail(60), tail(300)
        first_zh2, rest_zh2, rest_zh = tail(30), tail(1000), tail(30)
        in_text = set(vocab)
        while len(en_terms) < 5000:
            if rng.random() < 0.3:
                w = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(6, 10)))
                if w not in in_text:
                    en_terms.add(w)
            else:
                n = rng.randint(2, 3)
                en_terms.add(" ".join(first_en.en(1) + second_en.en(1) + src.en(n - 2)))
        while len(zh_terms) < 5000:
            n = rng.choice([2, 3, 3, 4])
            if n == 2:
                zh_terms.add(first_zh2.zh(1)[0] + rest_zh2.zh(1)[0])
            else:
                zh_terms.add("".join(src.zh(1) + rest_zh.zh(n - 1)))
    en_terms, zh_terms = sorted(en_terms), sorted(zh_terms)
    with open(os.path.join(a.out, "keywords.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(en_terms + zh_terms) + "\n")

    blocked, good_sites = write_domains(rng, a.out)

    # The worst kind's text: first words (and first two words) of terms, Chinese terms cut
    # one character short.
    # (None of them a term itself.)
    terms = set(en_terms) | set(zh_terms)
    starts_en = {t.split()[0] for t in en_terms if " " in t}
    starts_en |= {" ".join(t.split()[:2]) for t in en_terms if t.count(" ") >= 2}
    starts_en = sorted(starts_en - terms)
    starts_zh = sorted({t[:-1] for t in zh_terms if len(t) >= 3} - terms)

    def document(doc):
        if a.kind == "worst":
            text = worst_doc(rng, starts_en, starts_zh, int(rng.uniform(100, 2000)))
        elif a.kind == "short":
            text = short_doc(rng, src)
        else:
            # Log-uniform sizes from 300 B to 12 KB (median ~1.9 KB).
            size = int(300 * (40 ** rng.random()))
            text = mixed_doc(rng, src, size)
        r = rng.random()
        if r < 0.005:
            text += " " + rng.choice(en_terms) + " "
        elif r < 0.01:
            text += rng.choice(zh_terms)
        host = rng.choice(blocked) if rng.random() < 0.02 else rng.choice(good_sites)
        sub = rng.choice(["www.", "", "news.", "m."])
        path = f"p/{doc}"
        if a.kind == "worst":
            path = "/".join(rng.choice(vocab) for _ in range(12)) + f"?id={doc}&ref=" + "x" * 40
        return {"id": doc, "url": f"https://{sub}{host}/{path}", "text": text}

    doc = write_corpus(a.out, a.files, a.mb, document)
    print(f"{a.kind}: {doc} documents, {a.files} files, ~{a.mb} MB; {len(en_terms) + len(zh_terms)} terms -> {a.out}")


if __name__ == "__main__":
    main()
