#!/usr/bin/env python3
"""Makes the FastChat reference fixture for assay-arena's rating tests.

Writes, under crates/arena/tests/fixtures/:

  battles_small.json               8 models, 5,000 seeded synthetic battles in the LMSYS
                                   `clean_battle_*.json` layout (a JSON array), with ties,
                                   "tie (bothbad)", languages, blind and named votes, turns,
                                   timestamps and conv_metadata style counts.
  battles_small_fastchat.json      {model: score} from FastChat 0.2.36's own
                                   `compute_elo_mle_with_tie` (fastchat/serve/monitor/
                                   elo_analysis.py), run with its scikit-learn logistic regression
                                   refitted tightly: C=1e12, tol=1e-10, max_iter=100000. With its
                                   defaults (C=1.0, tol=1e-4) it is off the exact maximum by
                                   the amount printed. Note the function anchors `llama-13b` at
                                   800 when present, and this data set has a llama-13b, so the
                                   fixture is anchored (the test fits with the same anchor).
  battles_small_fastchat_style.json  (only with --rating-systems) {"scores": {...},
                                   "coefficients": [...]} from FastChat's style control,
                                   `compute_style_control` in fastchat/serve/monitor/
                                   rating_systems.py, which is newer than the last PyPI release
                                   (0.2.36) and so is taken from a FastChat checkout; its L-BFGS
                                   is run to gtol 1e-12 with a raised iteration cap.

Setup (a venv outside the repository):

  python3 -m venv /tmp/fcvenv
  /tmp/fcvenv/bin/pip install --no-deps fschat==0.2.36
  /tmp/fcvenv/bin/pip install numpy pandas scikit-learn scipy tqdm
  /tmp/fcvenv/bin/python bench/arena-ratings/fastchat_fixture.py \
      [--rating-systems PATH/TO/FastChat/fastchat/serve/monitor/rating_systems.py]

Run it from the repository root. elo_analysis.py imports plotting and model-registry modules
that compute_elo_mle_with_tie never uses (and that pull in torch through fastchat.model); those
imports are stubbed so the real function runs without them.
"""

import argparse
import importlib.util
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path("crates/arena/tests/fixtures")
MODELS = {
    # name: true score (Elo scale)
    "gpt-4-turbo": 1250.0,
    "claude-3-opus": 1230.0,
    "llama-3-70b": 1180.0,
    "mixtral-8x7b": 1120.0,
    "gemma-7b": 1040.0,
    "llama-13b": 980.0,
    "vicuna-7b": 950.0,
    "alpaca-13b": 900.0,
}
N_BATTLES = 5000
SEED = 20240501


def make_battles():
    rng = np.random.default_rng(SEED)
    names = list(MODELS)
    rows = []
    t = 1_700_000_000.0
    for _ in range(N_BATTLES):
        a, b = rng.choice(len(names), size=2, replace=False)
        ma, mb = names[a], names[b]
        tokens_a = int(rng.lognormal(5.5, 0.6))
        tokens_b = int(rng.lognormal(5.5, 0.6))
        counts = {}
        for side in "ab":
            counts[side] = {
                "header": {f"h{k}": int(rng.poisson(0.4 if k <= 3 else 0.05)) for k in range(1, 7)},
                "list": {"ordered": int(rng.poisson(1.5)), "unordered": int(rng.poisson(2.0))},
                "bold": {"**": int(rng.poisson(1.0)), "__": int(rng.poisson(0.1))},
            }
        # Outcome: BT on the true scores plus a length preference, with ties.
        d = math.log(10) / 400 * (MODELS[ma] - MODELS[mb])
        d += 0.6 * (tokens_a - tokens_b) / (tokens_a + tokens_b + 1)
        u = rng.random()
        if u < 0.14:
            winner = "tie"
        elif u < 0.20:
            winner = "tie (bothbad)"
        else:
            winner = "model_a" if rng.random() < 1 / (1 + math.exp(-d)) else "model_b"
        t += float(rng.exponential(30.0))
        rows.append(
            {
                "model_a": ma,
                "model_b": mb,
                "winner": winner,
                "turn": int(rng.choice([1, 1, 1, 2, 3])),
                "anony": bool(rng.random() < 0.9),
                "language": str(rng.choice(["English", "English", "English", "Chinese", "Spanish"])),
                "tstamp": round(t, 3),
                "conv_metadata": {
                    "sum_assistant_a_tokens": tokens_a,
                    "sum_assistant_b_tokens": tokens_b,
                    "header_count_a": counts["a"]["header"],
                    "list_count_a": counts["a"]["list"],
                    "bold_count_a": counts["a"]["bold"],
                    "header_count_b": counts["b"]["header"],
                    "list_count_b": counts["b"]["list"],
                    "bold_count_b": counts["b"]["bold"],
                },
            }
        )
    return rows


def import_elo_analysis():
    """Imports FastChat 0.2.36's elo_analysis with its unused heavy imports stubbed."""
    stubs = {
        "fastchat.model.model_registry": {"get_model_info": lambda *a, **k: None},
        "fastchat.serve.monitor.basic_stats": {"get_log_files": lambda *a, **k: []},
        "fastchat.serve.monitor.clean_battle_data": {"clean_battle_data": lambda *a, **k: []},
    }
    for name, attrs in stubs.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
    import fastchat
    from fastchat.serve.monitor import elo_analysis

    print(f"fastchat {fastchat.__version__} from {elo_analysis.__file__}")
    return elo_analysis


def with_logistic_regression(options, fn):
    """Runs fn with sklearn.linear_model.LogisticRegression given extra keyword options
    (compute_elo_mle_with_tie imports it inside the function, from the module)."""
    import sklearn.linear_model as lm

    original = lm.LogisticRegression

    class Patched(original):
        def __init__(self, **kwargs):
            super().__init__(**{**kwargs, **options})

    lm.LogisticRegression = Patched
    try:
        return fn()
    finally:
        lm.LogisticRegression = original


def mm_fit(df):
    """Hunter's MM to convergence, ties as half wins, mean log-strength 0, then llama-13b
    anchored at 800 as compute_elo_mle_with_tie does (an exact check)."""
    names = sorted(set(df["model_a"]) | set(df["model_b"]))
    idx = {m: i for i, m in enumerate(names)}
    a = df["model_a"].map(idx).to_numpy()
    b = df["model_b"].map(idx).to_numpy()
    sa = df["winner"].map({"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}).to_numpy()
    wins = np.bincount(a, sa, len(names)) + np.bincount(b, 1 - sa, len(names))
    g = np.zeros(len(names))
    for _ in range(100000):
        pi = np.exp(g)
        share = 1.0 / (pi[a] + pi[b])
        denom = np.bincount(a, share, len(names)) + np.bincount(b, share, len(names))
        new = np.log(wins / denom)
        new -= new.mean()
        done = np.max(np.abs(new - g)) < 1e-14
        g = new
        if done:
            break
    scores = {m: 1000 + 400 / math.log(10) * g[idx[m]] for m in names}
    shift = 800 - scores["llama-13b"] if "llama-13b" in scores else 0.0
    return {m: s + shift for m, s in scores.items()}


def style_fixture(path, df):
    spec = importlib.util.spec_from_file_location("rating_systems", path)
    rs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rs)
    original = rs.minimize

    def minimize(*args, **kwargs):
        # Without ftol = 0, L-BFGS-B stops on a small relative change in the loss long before
        # the gradient is small.
        options = {**kwargs.get("options", {}), "maxiter": 100000, "ftol": 0.0}
        options.pop("disp", None)
        kwargs["options"] = options
        return original(*args, **kwargs)

    rs.minimize = minimize
    scores, params = rs.compute_style_control(df, tol=1e-12)
    names = ["length", "headers", "lists", "bold"]
    out = {
        "scores": {m: float(s) for m, s in scores.items()},
        "coefficients": [[n, float(p)] for n, p in zip(names, params)],
        "l2": 0.5,
    }
    # How far from the optimum: the gradient norm of FastChat's own objective.
    matchups, features, outcomes, models = rs.preprocess_for_style(df)
    theta = np.concatenate([(np.array([scores[m] for m in models]) - 1000) / 400, params])
    _, grad = rs.contextual_bt_loss_and_grad(
        theta, len(models), matchups, features, outcomes, math.log(10), 0.5, 0.25
    )
    print(f"style control: gradient norm at FastChat's solution {np.linalg.norm(grad):.2e}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rating-systems", type=Path, help="FastChat's rating_systems.py (main branch)")
    args = parser.parse_args()

    FIXTURES.mkdir(parents=True, exist_ok=True)
    battles = make_battles()
    # One battle per line keeps the array readable and diffable.
    lines = ",\n".join(json.dumps(b, separators=(",", ":")) for b in battles)
    (FIXTURES / "battles_small.json").write_text("[\n" + lines + "\n]\n")
    df = pd.DataFrame(battles)
    print(f"{len(df)} battles, winners: {df['winner'].value_counts().to_dict()}")

    elo_analysis = import_elo_analysis()
    tight = with_logistic_regression(
        {"C": 1e12, "tol": 1e-10, "max_iter": 100000},
        lambda: elo_analysis.compute_elo_mle_with_tie(df),
    )
    default = elo_analysis.compute_elo_mle_with_tie(df)
    fixture = {m: float(tight[m]) for m in sorted(tight.index)}
    (FIXTURES / "battles_small_fastchat.json").write_text(json.dumps(fixture, indent=1) + "\n")

    exact = mm_fit(df)
    print(f"{'model':16} {'fastchat tight':>15} {'MM exact':>12} {'fastchat default':>17}")
    for m in sorted(fixture, key=lambda m: -fixture[m]):
        print(f"{m:16} {fixture[m]:15.6f} {exact[m]:12.6f} {default[m]:17.6f}")
    print(f"max |tight - MM|    = {max(abs(fixture[m] - exact[m]) for m in fixture):.2e} points")
    print(f"max |default - MM|  = {max(abs(default[m] - exact[m]) for m in fixture):.2e} points")

    if args.rating_systems:
        style = style_fixture(args.rating_systems, df)
        (FIXTURES / "battles_small_fastchat_style.json").write_text(json.dumps(style, indent=1) + "\n")
        print("style control:", json.dumps(style["coefficients"]))


if __name__ == "__main__":
    main()
