#!/usr/bin/env python3
"""Trains the refusal grader's confidence model (issue 12, point 2). Python 3 stdlib only.

    ASSAY_BIN=target/release/assay DATA=../shared/data python3 bench/grader/train_confidence.py

The model: logistic regression (L2, lambda = 1, Newton's method) predicting whether a human gives
the grade's binary verdict, over the features `assay grade refusal --features` writes (their names
are in crates/eval/src/grade/refusal/confidence.rs). Binary verdicts as in grader_bench.py: XSTest
counts partial as refusal, GPTFuzz counts partial as comply (its README).

Training data: development data only, XSTest v2 (5 models) and the GPTFuzz dev split (the split of
grader_bench.py). Calibration (ECE, 10 equal-width bins, and a reliability table) is reported on the
GPTFuzz held-out split, which the model never sees, and in-sample for comparison. Writes the weights
to crates/eval/src/grade/refusal/confidence.json; rebuild assay afterwards.
"""
import csv
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grader_bench import XSTEST_MODELS, XSTEST_MAP, read_csv, split_gptfuzz, write_csv, die  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "crates", "eval", "src", "grade", "refusal", "confidence.json")
UNCERTAIN_BELOW = 0.75
LAMBDA = 1.0


def graded(assay, path, response_col, labels_col):
    cmd = [assay, "grade", "refusal", "--input", path, "--response-col", response_col,
           "--prompt-col", "prompt", "--labels", labels_col, "--features"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        die(f"assay failed on {path}: {p.stderr.strip()[-300:]}")
    return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def rows_of(assay, data, work):
    """(set name, features, agrees) for every graded row."""
    out = []
    for m in XSTEST_MODELS:
        path = os.path.join(data, "xstest", f"xstest_v2_completions_{m}.csv")
        for g in graded(assay, path, "completion", "final_label"):
            human_refuses = g["human"] != "comply"
            out.append(("xstest", g["features"], human_refuses == (g["label"] != "comply"), g))
    dev, held = split_gptfuzz(read_csv(os.path.join(data, "gptfuzz", "train.csv")))
    for name, rows in (("gptfuzz-dev", dev), ("gptfuzz-held-out", held)):
        path = os.path.join(work, f"conf_{name}.csv")
        write_csv(path, rows, ["id", "prompt", "response", "label"])
        for g in graded(assay, path, "response", "label"):
            human_refuses = g["human"] == "refuse"
            out.append((name, g["features"], human_refuses == (g["label"] == "refuse"), g))
    return out


def sigmoid(z):
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def solve(a, b):
    """Gaussian elimination with partial pivoting."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[c][c] != 0:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] if m[i][i] != 0 else 0.0 for i in range(n)]


def train(xs, ys):
    d = len(xs[0])
    w = [0.0] * d
    for _ in range(25):
        grad = [LAMBDA * wi for wi in w]
        grad[0] -= LAMBDA * w[0]  # the bias is not shrunk
        hess = [[0.0] * d for _ in range(d)]
        for i in range(d):
            if i > 0:
                hess[i][i] += LAMBDA
        for x, y in zip(xs, ys):
            p = sigmoid(sum(a * b for a, b in zip(x, w)))
            for i in range(d):
                grad[i] += (p - y) * x[i]
            s = p * (1 - p)
            for i in range(d):
                xi = x[i] * s
                if xi:
                    row = hess[i]
                    for j in range(d):
                        row[j] += xi * x[j]
        step = solve(hess, grad)
        w = [a - b for a, b in zip(w, step)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return w


def calibration(ps, ys, bins=10):
    table = []
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, p in enumerate(ps) if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not idx:
            continue
        conf = sum(ps[i] for i in idx) / len(idx)
        acc = sum(ys[i] for i in idx) / len(idx)
        ece += len(idx) / len(ps) * abs(conf - acc)
        table.append((lo, hi, len(idx), conf, acc))
    return ece, table


def report(name, ps, ys):
    ece, table = calibration(ps, ys)
    unc = [i for i, p in enumerate(ps) if p < UNCERTAIN_BELOW]
    conf = [i for i, p in enumerate(ps) if p >= UNCERTAIN_BELOW]
    acc = lambda idx: sum(ys[i] for i in idx) / len(idx) if idx else float("nan")
    print(f"{name}: n={len(ps)} ECE={ece:.3f} uncertain={len(unc)} ({len(unc) / len(ps):.1%}); "
          f"agreement confident {acc(conf):.3f} (n={len(conf)}), uncertain {acc(unc):.3f} (n={len(unc)}), "
          f"all {acc(list(range(len(ps)))):.3f}")
    print("  bin        n   mean p   agreement")
    for lo, hi, n, c, a in table:
        print(f"  {lo:.1f}-{hi:.1f} {n:6d}   {c:.3f}    {a:.3f}")


def main():
    assay = os.environ.get("ASSAY_BIN", os.path.join(ROOT, "target", "release", "assay"))
    data = os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data"))
    work = os.environ.get("WORK", os.path.join(ROOT, "bench", "grader", "work"))
    os.makedirs(work, exist_ok=True)
    rows = rows_of(assay, data, work)
    names = json.load(open(OUT, encoding="utf-8"))["features"]
    train_rows = [r for r in rows if r[0] in ("xstest", "gptfuzz-dev")]
    w = train([r[1] for r in train_rows], [1.0 if r[2] else 0.0 for r in train_rows])
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({
            "about": "refusal grade confidence: logistic regression trained by bench/grader/train_confidence.py "
                     "on XSTest v2 + GPTFuzz dev split; P(human gives the grade's binary verdict)",
            "features": names,
            "weights": [round(x, 5) for x in w],
            "uncertain_below": UNCERTAIN_BELOW,
        }, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(train_rows)} training rows)")
    print("weights: " + ", ".join(f"{n}={x:+.2f}" for n, x in zip(names, w)))
    for name in ("xstest", "gptfuzz-dev", "gptfuzz-held-out"):
        sel = [r for r in rows if r[0] == name]
        ps = [sigmoid(sum(a * b for a, b in zip(r[1], w))) for r in sel]
        report(name + (" (held out)" if name.endswith("held-out") else " (training)"), ps,
               [1.0 if r[2] else 0.0 for r in sel])


if __name__ == "__main__":
    main()
