#!/usr/bin/env python3
"""Writes synthetic Chatbot Arena battles in the LMSYS battle dump format.

N battles (default 2,000,000) over M models (default 150), drawn from known Bradley-Terry
strengths, seeded, so every run with the same arguments writes the same bytes.

Output (default work/battles.json): a JSON array of objects

    {"model_a": "model-017", "model_b": "model-102", "winner": "model_a",
     "language": "English", "anony": true, "turn": 1, "tstamp": 1704067212.5308,
     "conv_metadata": {"sum_assistant_a_tokens": 412, "sum_assistant_b_tokens": 388,
                       "header_count_a": {"h1": 0, ..., "h6": 0}, "header_count_b": {...},
                       "list_count_a": {"ordered": 2, "unordered": 4}, "list_count_b": {...},
                       "bold_count_a": {"**": 3, "__": 0}, "bold_count_b": {...}}}

one object per line (the public dumps are written with indent=2; --pretty writes that layout,
about twice the bytes). Sorted by tstamp, like FastChat's clean_battle_data output.

How a battle is drawn:
  * model_a and model_b: two different models, each drawn with a per-model popularity weight
    (log-normal), so vote counts differ between models as they do on the real arena.
  * winner: "tie" with probability --tie (0.10), "tie (bothbad)" with --bothbad (0.05);
    otherwise a decisive vote, model_a winning with the Bradley-Terry probability
    1 / (1 + 10 ** ((R_b - R_a) / 400)) for the true ratings R (normal, mean 1000, sd --sd).
    Ties do not depend on the ratings, so a fit that counts a tie as half a win each (FastChat,
    evalica, assay) recovers a compressed scale: truth.json gives that limit too.
  * language: "Chinese" with probability 0.2, else "English".
  * conv_metadata: token counts and markdown element counts with a per-model style
    (verbosity, header/list/bold habits), for style-control work; the plain BT fit ignores it.

Also writes work/truth.json: the seed, arguments, and per model: the true rating, popularity,
vote count, and two reference fits (Elo points, mean 1000) of the tie-as-half-a-win
Bradley-Terry model that FastChat fits: rating_mle, the exact MLE of the battles written (Newton
to machine precision; a converged fit of the file must match it), and rating_tie_half, what
that MLE tends to as N grows for the pair counts drawn.

Usage: make_battles.py [--n 2000000] [--models 150] [--seed 20240601] [--out work/battles.json]
                       [--truth work/truth.json] [--tie 0.10] [--bothbad 0.05] [--sd 120] [--pretty]
Needs numpy only.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1704067200.0  # 2024-01-01T00:00:00Z
SPAN = 365 * 86400.0
CHUNK = 100_000

WINNERS = ["model_a", "model_b", "tie", "tie (bothbad)"]
LANGS = ["English", "Chinese"]

# One record; the %-tuple is (model_a, model_b, winner, language, tstamp, tokens_a, tokens_b,
# h1..h6 of a, h1..h6 of b, ordered/unordered of a, of b, **/__ of a, of b).
REC = (
    '{"model_a":"%s","model_b":"%s","winner":"%s","language":"%s","anony":true,"turn":1,'
    '"tstamp":%.4f,"conv_metadata":{"sum_assistant_a_tokens":%d,"sum_assistant_b_tokens":%d,'
    '"header_count_a":{"h1":%d,"h2":%d,"h3":%d,"h4":%d,"h5":%d,"h6":%d},'
    '"header_count_b":{"h1":%d,"h2":%d,"h3":%d,"h4":%d,"h5":%d,"h6":%d},'
    '"list_count_a":{"ordered":%d,"unordered":%d},"list_count_b":{"ordered":%d,"unordered":%d},'
    '"bold_count_a":{"**":%d,"__":%d},"bold_count_b":{"**":%d,"__":%d}}}'
)

HEADER_LAMBDA = np.array([0.05, 0.4, 0.8, 0.15, 0.02, 0.01])  # h1..h6, before the model's factor


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2_000_000, help="battles (default 2,000,000)")
    p.add_argument("--models", type=int, default=150, help="models (default 150)")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--tie", type=float, default=0.10, help='share of "tie" votes')
    p.add_argument("--bothbad", type=float, default=0.05, help='share of "tie (bothbad)" votes')
    p.add_argument("--sd", type=float, default=120.0, help="sd of the true ratings (Elo points)")
    p.add_argument("--out", default=os.path.join(HERE, "work", "battles.json"))
    p.add_argument("--truth", default=os.path.join(HERE, "work", "truth.json"))
    p.add_argument("--pretty", action="store_true", help="indent=2 layout, like the public dumps")
    a = p.parse_args(argv)
    if a.models < 2 or a.n < 1:
        p.error("need --models >= 2 and --n >= 1")
    if a.tie < 0 or a.bothbad < 0 or a.tie + a.bothbad >= 1:
        p.error("need 0 <= --tie, --bothbad and --tie + --bothbad < 1")
    return a


def draw(a: argparse.Namespace) -> dict:
    rng = np.random.default_rng(a.seed)
    m, n = a.models, a.n
    names = [f"model-{i:03d}" for i in range(m)]
    ratings = 1000.0 + a.sd * rng.standard_normal(m)
    ratings += 1000.0 - ratings.mean()
    popularity = rng.lognormal(0.0, 0.8, m)
    popularity /= popularity.sum()

    # Per-model style: verbosity and markdown habits.
    tok_mu = np.log(350.0) + 0.35 * rng.standard_normal(m)
    header_f = rng.lognormal(0.0, 0.7, m)
    list_f = rng.lognormal(0.0, 0.5, m)
    bold_f = rng.lognormal(0.0, 0.7, m)

    ia = rng.choice(m, size=n, p=popularity)
    ib = rng.choice(m, size=n, p=popularity)
    same = np.flatnonzero(ia == ib)
    while same.size:
        ib[same] = rng.choice(m, size=same.size, p=popularity)
        same = same[ia[same] == ib[same]]

    p_a = 1.0 / (1.0 + 10.0 ** ((ratings[ib] - ratings[ia]) / 400.0))
    u = rng.random(n)
    decisive_a = rng.random(n) < p_a
    winner = np.where(decisive_a, 0, 1).astype(np.int8)
    winner[u < a.tie + a.bothbad] = 3
    winner[u < a.tie] = 2
    lang = (rng.random(n) < 0.2).astype(np.int8)
    tstamp = T0 + np.sort(rng.random(n)) * SPAN

    def side(idx: np.ndarray) -> list[np.ndarray]:
        tokens = np.exp(tok_mu[idx] + 0.6 * rng.standard_normal(n)).astype(np.int64) + 1
        heads = rng.poisson(HEADER_LAMBDA[None, :] * header_f[idx, None])
        lists = rng.poisson(np.array([1.5, 2.5])[None, :] * list_f[idx, None])
        bolds = rng.poisson(np.array([2.5, 0.02])[None, :] * bold_f[idx, None])
        return [tokens, heads, lists, bolds]

    sa, sb = side(ia), side(ib)
    return dict(names=names, ratings=ratings, popularity=popularity, ia=ia, ib=ib,
                winner=winner, lang=lang, tstamp=tstamp, sa=sa, sb=sb)


def bt_mle(wins: np.ndarray) -> np.ndarray:
    """Bradley-Terry MLE, in Elo points with mean 1000, from a win matrix (wins[i, j]: i over j,
    ties already counted as half a win each way). Newton's method on the log-likelihood with the
    mean of the log-strengths pinned at 0, to a step below 1e-12 points (machine precision)."""
    m = wins.shape[0]
    games = wins + wins.T
    theta = np.zeros(m)
    for _ in range(200):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))  # P(i beats j)
        grad = (wins - games * p).sum(axis=1)
        w = games * p * (1.0 - p)
        hess = w - np.diag(w.sum(axis=1))  # negative semi-definite, null space = constants
        # Solve with the constraint sum(step) = 0 (bordered system).
        k = np.zeros((m + 1, m + 1))
        k[:m, :m] = hess
        k[:m, m] = k[m, :m] = 1.0
        step = np.linalg.solve(k, np.concatenate([-grad, [0.0]]))[:m]
        theta += step
        if np.max(np.abs(step)) * 400.0 / np.log(10.0) < 1e-12:
            break
    elo = theta * 400.0 / np.log(10.0)
    return elo - elo.mean() + 1000.0


def references(a: argparse.Namespace, d: dict) -> tuple[np.ndarray, np.ndarray]:
    """Two reference fits, both tie-as-half-a-win BT MLEs (FastChat's model):
    sample: of the battles written, i.e. what a converged fit of the file gives exactly;
    limit:  of the expected outcomes for the pair counts drawn, what the fit tends to as N grows
            (ties do not depend on the ratings, so this is a compressed copy of the truth)."""
    m = a.models
    ia, ib, win = d["ia"], d["ib"], d["winner"]
    sample = np.zeros((m, m))
    np.add.at(sample, (ia[win == 0], ib[win == 0]), 1.0)
    np.add.at(sample, (ib[win == 1], ia[win == 1]), 1.0)
    tie = win >= 2
    np.add.at(sample, (ia[tie], ib[tie]), 0.5)
    np.add.at(sample, (ib[tie], ia[tie]), 0.5)

    pairs = np.zeros((m, m))
    np.add.at(pairs, (ia, ib), 1.0)
    n_ij = pairs + pairs.T
    r = d["ratings"]
    p = 1.0 / (1.0 + 10.0 ** ((r[None, :] - r[:, None]) / 400.0))
    ties = a.tie + a.bothbad
    expected = n_ij * ((1.0 - ties) * p + ties / 2.0)
    return bt_mle(sample), bt_mle(expected)


def write_json(a: argparse.Namespace, d: dict) -> int:
    names = np.array(d["names"], dtype=object)
    winners = np.array(WINNERS, dtype=object)
    langs = np.array(LANGS, dtype=object)
    n = a.n
    tmp = a.out + ".tmp"
    total = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("[\n")
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            sl = slice(lo, hi)
            ta, ha, la, ba = d["sa"]
            tb, hb, lb, bb = d["sb"]
            cols = [
                names[d["ia"][sl]].tolist(), names[d["ib"][sl]].tolist(),
                winners[d["winner"][sl]].tolist(), langs[d["lang"][sl]].tolist(),
                d["tstamp"][sl].tolist(), ta[sl].tolist(), tb[sl].tolist(),
                *(ha[sl, k].tolist() for k in range(6)), *(hb[sl, k].tolist() for k in range(6)),
                la[sl, 0].tolist(), la[sl, 1].tolist(), lb[sl, 0].tolist(), lb[sl, 1].tolist(),
                ba[sl, 0].tolist(), ba[sl, 1].tolist(), bb[sl, 0].tolist(), bb[sl, 1].tolist(),
            ]
            recs = list(map(REC.__mod__, zip(*cols)))
            if a.pretty:
                recs = [json.dumps(json.loads(r), indent=2).replace("\n", "\n  ") for r in recs]
                sep = ",\n  "
                body = "  " + sep.join(recs)
            else:
                body = ",\n".join(recs)
            if lo:
                f.write(",\n")
            f.write(body)
            total += hi - lo
        f.write("\n]\n")
    os.replace(tmp, a.out)
    return total


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)) or ".", exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.truth)) or ".", exist_ok=True)
    t0 = time.perf_counter()
    d = draw(a)
    t1 = time.perf_counter()
    write_json(a, d)
    t2 = time.perf_counter()

    m = a.models
    mle, target = references(a, d)
    votes = np.bincount(d["ia"], minlength=m) + np.bincount(d["ib"], minlength=m)
    share = np.bincount(d["winner"], minlength=4) / a.n
    truth = {
        "seed": a.seed, "n": a.n, "models": m, "tie": a.tie, "bothbad": a.bothbad, "sd": a.sd,
        "scale": 400, "base": 10, "pretty": a.pretty,
        "winner_share": dict(zip(WINNERS, map(float, share))),
        "rows": [
            {"model": d["names"][i], "rating": float(d["ratings"][i]),
             "rating_mle": float(mle[i]), "rating_tie_half": float(target[i]),
             "popularity": float(d["popularity"][i]), "votes": int(votes[i])}
            for i in np.argsort(-d["ratings"], kind="stable")
        ],
    }
    with open(a.truth, "w", encoding="utf-8") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    size = os.path.getsize(a.out)
    print(f"make_battles: {a.n} battles over {m} models -> {a.out} ({size / 1e6:.1f} MB); "
          f"draw {t1 - t0:.1f} s, write {t2 - t1:.1f} s; winners "
          + ", ".join(f"{w} {s:.3f}" for w, s in zip(WINNERS, share)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
