#!/usr/bin/env python3
"""Times the peers of `assay arena ratings` on one battle file: FastChat and evalica.

Each tool runs in its own child process (so its peak RSS is its own), on the same file:

  load     pd.read_json(FILE), sort by tstamp, keep anony battles: what FastChat's
           elo_analysis.py does (main: pd.read_json, then report_elo_analysis_results). For
           evalica the winner column is also mapped to evalica.Winner here, as in evalica's
           own Chatbot-Arena notebook (its load cell).
  fastchat fit        fastchat.serve.monitor.elo_analysis.compute_elo_mle_with_tie(battles)
           bootstrap  get_bootstrap_result(battles, compute_elo_mle_with_tie, num_round=R);
                      per round = its wall time / R
  evalica  fit        evalica.bradley_terry(model_a, model_b, winner) (indexing included)
           core       evalica._brzo.bradley_terry on already-indexed lists (the Rust part only)
           bootstrap  (a) the loop from evalica's Chatbot-Arena notebook: R times
                      df.sample(frac=1, replace=True) + bradley_terry(..., index=index);
                      (b) evalica.bootstrap(bradley_terry, ..., n_resamples=R,
                      bootstrap_method="percentile") (BCa, its default, jackknifes: n extra
                      fits), per round = (wall - one fit) / R, as it first fits the full data.
                      The faster of (a) and (b) is the headline per-round figure.

Output: one JSON object per line on stdout (and in --out), one per tool, with seconds, MB of
peak RSS (ru_maxrss), the load average, and the tool's scores in Elo points (400 * log10 of the
BT strength, shifted so the mean over models is 1000), also written to scores-TOOL.json
beside --out.
A last line of kind "compare" gives the max abs difference (and Spearman rho) between the tools'
mean-centred scores, and against truth.json: the generating ratings ("truth"), the exact MLE of
the file ("truth_mle": a converged fit must match it) and its large-N limit ("truth_tie_half").

Usage: peers.py [--input work/battles.json] [--rounds 10] [--tools fastchat,evalica]
                [--out work/peers.jsonl] [--truth work/truth.json]
       peers.py --check          (imports only; used by setup.sh)
Run it with work/venv/bin/python (setup.sh).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, "work")


def import_elo_analysis():
    """Imports the unmodified fastchat.serve.monitor.elo_analysis from the installed fschat.

    elo_analysis imports fastchat.model.model_registry (plain Python: collections, typing).
    But the package fastchat.model's __init__.py imports model_adapter, which needs torch,
    transformers and psutil. So fastchat.model is registered as a bare package object whose
    __path__ is the installed fastchat/model folder: model_registry.py is then loaded from that
    folder as usual, and fastchat/model/__init__.py is never run. Nothing else is replaced.
    """
    import fastchat

    if "fastchat.model" not in sys.modules:
        pkg = types.ModuleType("fastchat.model")
        pkg.__path__ = [os.path.join(os.path.dirname(fastchat.__file__), "model")]
        pkg.__package__ = "fastchat.model"
        sys.modules["fastchat.model"] = pkg
    from fastchat.serve.monitor import elo_analysis

    return elo_analysis


def rss_mb() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) / 1024.0
    return {"rss_mb": round(out.get("VmRSS", 0.0), 1), "hwm_mb": round(out.get("VmHWM", 0.0), 1)}


def maxrss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


class Timer:
    """Wall and CPU (user + sys, all threads of this process) seconds of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0
        return False


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def blas_info() -> list[str]:
    try:
        from threadpoolctl import threadpool_info

        return [f"{i.get('internal_api')}:{i.get('architecture')}:{i.get('num_threads')}"
                for i in threadpool_info()]
    except Exception as e:  # pragma: no cover
        return [f"unknown ({e})"]


def load_battles(path: str):
    import pandas as pd

    battles = pd.read_json(path)
    battles = battles.sort_values(ascending=True, by=["tstamp"])
    battles = battles[battles["anony"]].reset_index(drop=True)
    return battles


def centred(scores: dict) -> dict:
    mean = sum(scores.values()) / len(scores)
    return {k: v - mean + 1000.0 for k, v in scores.items()}


def write_scores(tool: str, scores: dict, where: str) -> None:
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, f"scores-{tool}.json"), "w") as f:
        json.dump(dict(sorted(scores.items(), key=lambda kv: -kv[1])), f, indent=1)
        f.write("\n")


def run_fastchat(a: argparse.Namespace) -> dict:
    import numpy as np

    with Timer() as t_imp:
        ea = import_elo_analysis()
        from sklearn.linear_model import LogisticRegression
    la0 = loadavg()

    # Instrumentation only: record how long LogisticRegression.fit takes inside
    # compute_elo_mle_with_tie and how many L-BFGS iterations it runs; the fit itself is
    # sklearn's, called with the same arguments.
    lr_calls: list[tuple[float, int]] = []
    orig_fit = LogisticRegression.fit

    def timed_fit(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = orig_fit(self, *args, **kwargs)
        lr_calls.append((time.perf_counter() - t0, int(np.max(self.n_iter_))))
        return out

    LogisticRegression.fit = timed_fit

    with Timer() as t_load:
        battles = load_battles(a.input)
    after_load = rss_mb()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Timer() as t_fit:
            elo = ea.compute_elo_mle_with_tie(battles)
        fit_peak = maxrss_mb()
        fit_lr = lr_calls[-1]

        np.random.seed(a.seed)  # DataFrame.sample(replace=True) draws from numpy's global state
        with Timer() as t_boot:
            boot = ea.get_bootstrap_result(battles, ea.compute_elo_mle_with_tie, num_round=a.rounds)
    assert boot.shape == (a.rounds, elo.shape[0]), boot.shape
    boot_lr = lr_calls[-a.rounds:]

    scores = centred({str(k): float(v) for k, v in elo.items()})
    write_scores("fastchat", scores, a.scores_dir)
    return {
        "tool": "fastchat", "n": int(len(battles)), "models": int(elo.shape[0]),
        "import_s": round(t_imp.wall, 3), "load_s": round(t_load.wall, 3),
        "load_cpu_s": round(t_load.cpu, 3), "fit_s": round(t_fit.wall, 3),
        "fit_cpu_s": round(t_fit.cpu, 3), "fit_lbfgs_s": round(fit_lr[0], 3),
        "fit_lbfgs_iterations": fit_lr[1],
        "boot_rounds": a.rounds, "boot_total_s": round(t_boot.wall, 3),
        "boot_cpu_s": round(t_boot.cpu, 3), "round_s": round(t_boot.wall / a.rounds, 3),
        "round_cpu_s": round(t_boot.cpu / a.rounds, 3),
        "boot_lbfgs_s": round(sum(x for x, _ in boot_lr), 3),
        "boot_lbfgs_iterations": [i for _, i in boot_lr],
        "after_load": after_load, "peak_after_fit_mb": fit_peak,
        "warnings": sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught}),
        "loadavg_start": la0, "scores": scores,
    }


def run_evalica(a: argparse.Namespace) -> dict:
    import numpy as np

    with Timer() as t_imp:
        import evalica

    assert evalica.PYO3_AVAILABLE, "evalica's Rust extension is not loaded"
    la0 = loadavg()

    with Timer() as t_read:
        df = load_battles(a.input)
    t = time.perf_counter()
    c = time.process_time()
    df["winner"] = df["winner"].map({
        "model_a": evalica.Winner.X, "model_b": evalica.Winner.Y,
        "tie": evalica.Winner.Draw, "tie (bothbad)": evalica.Winner.Draw,
    })
    assert not df["winner"].isna().any()
    map_s = time.perf_counter() - t
    map_cpu = time.process_time() - c
    after_load = rss_mb()

    with Timer() as t_fit:
        bt = evalica.bradley_terry(df["model_a"], df["model_b"], df["winner"])
    fit_s = t_fit.wall
    fit_peak = maxrss_mb()
    index = bt.index

    # The Rust core alone, on inputs already indexed the way bradley_terry indexes them.
    xs, ys, _ = evalica.indexing(df["model_a"], df["model_b"], index)
    ws = df["winner"].astype(int).tolist()
    weights = [1.0] * len(xs)
    with Timer() as t_core:
        core_scores, core_iters = evalica._brzo.bradley_terry(
            xs=xs, ys=ys, winners=ws, weights=weights, total=len(index),
            win_weight=1.0, tie_weight=0.5, tolerance=1e-6, limit=100)
    core_s = t_core.wall
    del xs, ys, ws, weights

    # (a) the loop from evalica's Chatbot-Arena notebook.
    t = time.perf_counter()
    c = time.process_time()
    loop_rows = []
    for seed in range(a.rounds):
        sample = df.sample(frac=1.0, replace=True, random_state=a.seed + seed)
        r = evalica.bradley_terry(sample["model_a"], sample["model_b"], sample["winner"], index=index)
        loop_rows.append(r.scores)
    loop_s = time.perf_counter() - t
    loop_cpu = time.process_time() - c
    del sample, loop_rows

    # (b) evalica.bootstrap (scipy.stats.bootstrap underneath), percentile intervals.
    t = time.perf_counter()
    c = time.process_time()
    br = evalica.bootstrap(evalica.bradley_terry, df["model_a"], df["model_b"], df["winner"],
                           n_resamples=a.rounds, bootstrap_method="percentile",
                           random_state=a.seed)
    api_s = time.perf_counter() - t
    api_cpu = time.process_time() - c
    assert br.distribution.shape == (a.rounds, len(index)), br.distribution.shape

    loop_round = loop_s / a.rounds
    api_round = max(api_s - fit_s, 0.0) / a.rounds
    scores = centred({str(k): 400.0 * math.log10(float(v)) for k, v in bt.scores.items()})
    write_scores("evalica", scores, a.scores_dir)
    return {
        "tool": "evalica", "n": int(len(df)), "models": int(len(index)),
        "import_s": round(t_imp.wall, 3), "load_s": round(t_read.wall + map_s, 3),
        "load_cpu_s": round(t_read.cpu + map_cpu, 3),
        "read_s": round(t_read.wall, 3), "winner_map_s": round(map_s, 3),
        "fit_s": round(fit_s, 3), "fit_cpu_s": round(t_fit.cpu, 3),
        "fit_iterations": int(bt.iterations),
        "core_s": round(core_s, 3), "core_cpu_s": round(t_core.cpu, 3), "core_iterations": int(core_iters),
        "boot_rounds": a.rounds, "boot_loop_total_s": round(loop_s, 3),
        "boot_loop_round_s": round(loop_round, 3), "boot_api_total_s": round(api_s, 3),
        "boot_api_round_s": round(api_round, 3),
        "round_s": round(min(loop_round, api_round), 3),
        "round_cpu_s": round(loop_cpu / a.rounds if loop_round <= api_round
                             else max(api_cpu - t_fit.cpu, 0.0) / a.rounds, 3),
        "round_from": "notebook loop" if loop_round <= api_round else "evalica.bootstrap",
        "after_load": after_load, "peak_after_fit_mb": fit_peak,
        "loadavg_start": la0, "scores": scores,
        "core_matches_fit": bool(np.allclose(
            np.sort(np.asarray(core_scores, dtype=float)), np.sort(bt.scores.to_numpy()))),
    }


def child(a: argparse.Namespace) -> int:
    rec = {"fastchat": run_fastchat, "evalica": run_evalica}[a.tool](a)
    rec["peak_rss_mb"] = maxrss_mb()
    rec["loadavg_end"] = loadavg()
    rec["blas"] = blas_info()
    print(json.dumps(rec), flush=True)
    return 0


def compare(recs: list[dict], truth_path: str) -> dict:
    tables = {r["tool"]: r["scores"] for r in recs if "scores" in r}
    if os.path.exists(truth_path):
        with open(truth_path) as f:
            truth = json.load(f)
        tables["truth"] = centred({row["model"]: row["rating"] for row in truth["rows"]})
        for key in ("rating_mle", "rating_tie_half"):
            if all(key in row for row in truth["rows"]):
                tables["truth_" + key[len("rating_"):]] = centred(
                    {row["model"]: row[key] for row in truth["rows"]})
    out: dict = {"kind": "compare", "max_abs_diff": {}, "spearman": {}}
    names = list(tables)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            common = sorted(set(tables[x]) & set(tables[y]))
            if not common:
                continue
            sx = centred({k: tables[x][k] for k in common})
            sy = centred({k: tables[y][k] for k in common})
            out["max_abs_diff"][f"{x}-{y}"] = round(max(abs(sx[k] - sy[k]) for k in common), 4)
            out["spearman"][f"{x}-{y}"] = round(spearman([sx[k] for k in common],
                                                         [sy[k] for k in common]), 6)
    return out


def spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(v):
        order = sorted(range(len(v)), key=v.__getitem__)
        r = [0.0] * len(v)
        for pos, i in enumerate(order):
            r[i] = float(pos)
        return r

    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((p - mx) * (q - my) for p, q in zip(rx, ry))
    vx = sum((p - mx) ** 2 for p in rx)
    vy = sum((q - my) ** 2 for q in ry)
    return cov / math.sqrt(vx * vy) if vx and vy else float("nan")


def parent(a: argparse.Namespace) -> int:
    recs = []
    out = open(a.out, "w") if a.out else None
    status = 0
    for tool in [t for t in a.tools.split(",") if t]:
        cmd = [sys.executable, os.path.abspath(__file__), "--tool", tool, "--input", a.input,
               "--rounds", str(a.rounds), "--seed", str(a.seed), "--scores-dir", a.scores_dir]
        print(f"[peers] {tool}: {a.rounds} bootstrap rounds on {a.input}", file=sys.stderr,
              flush=True)
        t = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        line = (p.stdout.strip().splitlines() or [""])[-1]
        if p.returncode != 0 or not line.startswith("{"):
            rec = {"tool": tool, "error": f"exit {p.returncode}", "process_wall_s": round(wall, 3)}
            status = 1
        else:
            rec = json.loads(line)
            rec["process_wall_s"] = round(wall, 3)
        recs.append(rec)
        shown = {k: v for k, v in rec.items() if k != "scores"}
        print(json.dumps(shown), flush=True)
        if out:
            out.write(json.dumps(shown) + "\n")
    cmp = compare(recs, a.truth)
    print(json.dumps(cmp), flush=True)
    if out:
        out.write(json.dumps(cmp) + "\n")
        out.close()
    return status


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", default=os.path.join(WORK, "battles.json"))
    p.add_argument("--rounds", type=int, default=10, help="bootstrap rounds to time (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tools", default="fastchat,evalica")
    p.add_argument("--out", default=os.path.join(WORK, "peers.jsonl"))
    p.add_argument("--truth", default=os.path.join(WORK, "truth.json"))
    p.add_argument("--scores-dir", default=None,
                   help="where scores-TOOL.json go (default: the folder of --out, else work/)")
    p.add_argument("--tool", help=argparse.SUPPRESS)
    p.add_argument("--check", action="store_true", help="import both peers and exit")
    a = p.parse_args(argv)
    if a.check:
        warnings.simplefilter("error")  # evalica warns when its Rust core is missing
        import evalica

        assert evalica.PYO3_AVAILABLE, "evalica's Rust extension did not load"
        ea = import_elo_analysis()
        assert callable(ea.compute_elo_mle_with_tie) and callable(ea.get_bootstrap_result)
        print("peers.py --check: fastchat.serve.monitor.elo_analysis and evalica import")
        return 0
    if a.scores_dir is None:
        a.scores_dir = os.path.dirname(os.path.abspath(a.out)) if a.out else WORK
    if a.rounds < 2:
        p.error("--rounds must be >= 2 (scipy's bootstrap needs it)")
    return child(a) if a.tool else parent(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
