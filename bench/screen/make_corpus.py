#!/usr/bin/env python3
"""Writes the screening benchmark's inputs, deterministically (seeded):

- corpus/part-NNN.jsonl: mixed English/Chinese documents {"id", "url", "text"}, --mb MB in all
  (default 1100), in --files files; about 1% of documents carry a listed term and 2% come from
  a blocked domain;
- keywords.txt: 10,000 terms, half English phrases, half Chinese words;
- domains.txt: 1,000,000 blocked domains.

Standard library only.
"""
import argparse
import json
import os
import random

HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严")
TLDS = ["com", "net", "org", "cn", "com.cn", "io", "info", "de", "co.uk", "ru"]


def word(rng):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))


def write_domains(rng, out):
    """Writes OUT/domains.txt: 1,000,000 distinct blocked domains. Answers them, and 5,000 other
    sites for the documents that are not from a blocked one."""
    blocked = []
    seen = set()
    while len(blocked) < 1_000_000:
        d = f"{word(rng)}{rng.randint(0, 9999)}.{rng.choice(TLDS)}"
        if d not in seen:
            seen.add(d)
            blocked.append(d)
    with open(os.path.join(out, "domains.txt"), "w") as f:
        f.write("\n".join(blocked) + "\n")
    good_sites = [f"{word(rng)}.{rng.choice(TLDS)}" for _ in range(5000)]
    return blocked, good_sites


def write_corpus(out, files, mb, document):
    """Writes OUT/corpus/part-NNN.jsonl, FILES files of about MB/FILES megabytes each, with the
    objects `document(n)` makes for n = 0, 1, …; answers how many documents were written."""
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)
    per_file = mb * 1_000_000 // files
    doc = 0
    for k in range(files):
        written = 0
        lines = []
        with open(os.path.join(out, "corpus", f"part-{k:03}.jsonl"), "w", encoding="utf-8") as f:
            while written < per_file:
                line = json.dumps(document(doc), ensure_ascii=False)
                lines.append(line)
                written += len(line.encode("utf-8")) + 1
                doc += 1
                if len(lines) >= 2000:
                    f.write("\n".join(lines) + "\n")
                    lines = []
            if lines:
                f.write("\n".join(lines) + "\n")
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="work")
    ap.add_argument("--mb", type=int, default=1100)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--seed", type=int, default=20261128)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    vocab = [word(rng) for _ in range(20000)]
    terms = set()
    while len(terms) < 5000:
        terms.add(" ".join(rng.choice(vocab) for _ in range(rng.randint(2, 3))))
    en_terms = sorted(terms)
    zh = set()
    while len(zh) < 5000:
        zh.add("".join(rng.choice(HANZI) for _ in range(rng.randint(3, 4))))
    zh_terms = sorted(zh)
    with open(os.path.join(a.out, "keywords.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(en_terms + zh_terms) + "\n")

    blocked, good_sites = write_domains(rng, a.out)

    def document(doc):
        if rng.random() < 0.5:
            text = " ".join(rng.choice(vocab) for _ in range(rng.randint(150, 450)))
        else:
            text = "".join(rng.choice(HANZI) for _ in range(rng.randint(300, 900)))
        r = rng.random()
        if r < 0.005:
            text += " " + rng.choice(en_terms)
        elif r < 0.01:
            text += rng.choice(zh_terms)
        host = rng.choice(blocked) if rng.random() < 0.02 else rng.choice(good_sites)
        sub = rng.choice(["www.", "", "news.", "m."])
        return {"id": doc, "url": f"https://{sub}{host}/p/{doc}", "text": text}

    doc = write_corpus(a.out, a.files, a.mb, document)
    print(f"{doc} documents, {a.files} files, ~{a.mb} MB; 10,000 terms; 1,000,000 domains -> {a.out}")


if __name__ == "__main__":
    main()
