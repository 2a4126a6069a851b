#!/usr/bin/env python3
"""datatrove, configured like `assay screen --keywords keywords.txt --domains domains.txt`:
JsonlReader -> URLFilter (the 1,000,000 domains as extra_domains, no integrated lists) ->
a keyword filter over the lowercased text (ahocorasick_rs, or pyahocorasick with --pyahocorasick)
-> JsonlWriter of the kept documents (the removed ones go to an exclusion writer).

Prints one JSON line: wall seconds, documents kept/removed, MB/s.
"""
import argparse
import json
import os
import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import URLFilter
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


class KeywordFilter(BaseFilter):
    name = "keywords"

    def __init__(self, terms_file, use_pyahocorasick=False, exclusion_writer=None):
        super().__init__(exclusion_writer)
        with open(terms_file, encoding="utf-8") as f:
            terms = [t.strip().lower() for t in f if t.strip() and not t.startswith("#")]
        self.use_py = use_pyahocorasick
        self.terms = terms
        self.automaton = None

    def build(self):
        # Built in the worker: datatrove pickles the pipeline, and ahocorasick_rs objects
        # cannot be pickled.
        if self.use_py:
            import ahocorasick

            self.automaton = ahocorasick.Automaton()
            for i, t in enumerate(self.terms):
                self.automaton.add_word(t, i)
            self.automaton.make_automaton()
        else:
            import ahocorasick_rs

            self.automaton = ahocorasick_rs.AhoCorasick(self.terms)

    def filter(self, doc):
        if self.automaton is None:
            self.build()
        text = doc.text.lower()
        if self.use_py:
            hit = next(self.automaton.iter(text), None) is not None
        else:
            hit = bool(self.automaton.find_matches_as_indexes(text))
        return (False, "keyword") if hit else True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--keywords", required=True)
    ap.add_argument("--domains", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pyahocorasick", action="store_true")
    a = ap.parse_args()
    with open(a.domains) as f:
        domains = [d.strip() for d in f if d.strip()]
    url_filter = URLFilter(extra_domains=domains, use_integrated_lists=False)
    # No network here: the public suffix list comes from tldextract's bundled snapshot.
    from tldextract import TLDExtract

    url_filter.tldextractor = TLDExtract(suffix_list_urls=())
    files = sorted(os.listdir(a.corpus))
    pipeline = [
        JsonlReader(a.corpus, text_key="text", id_key="id"),
        url_filter,
        KeywordFilter(a.keywords, a.pyahocorasick, exclusion_writer=JsonlWriter(os.path.join(a.out, "removed-kw"))),
        JsonlWriter(os.path.join(a.out, "kept")),
    ]
    ex = LocalPipelineExecutor(pipeline=pipeline, tasks=len(files), workers=a.workers,
                               logging_dir=os.path.join(a.out, "logs"), skip_completed=False)
    t0 = time.time()
    ex.run()
    wall = time.time() - t0
    size = sum(os.path.getsize(os.path.join(a.corpus, f)) for f in files)
    print(json.dumps({"tool": "datatrove", "matcher": "pyahocorasick" if a.pyahocorasick else "ahocorasick_rs",
                      "workers": a.workers, "wall_s": round(wall, 2), "mb": round(size / 1e6, 1),
                      "mb_per_s": round(size / 1e6 / wall, 1)}))


if __name__ == "__main__":
    main()
