#!/usr/bin/env python3
"""Builds the arena-ratings table from what run.sh left in work/; prints it, writes results.md.

Reads (all in --work):
  assay-{fit,full}-I.{wall,time,json,err}   run.sh's timed assay runs (--bootstrap 0 and
                                            --bootstrap B); .wall is "MICROSECONDS RC"
  peers.jsonl, scores-{fastchat,evalica}.json   peers.py's output
  truth.json, versions.env

assay's --json output: an object with rows: [{model, score, lo, hi, votes, rank}] (a bare list
of rows, or rows under "ratings"/"leaderboard"/"models", and the score as "rating" or "elo", are
taken too). If it also has "timings" (or "timing") with load_s, fit_s and bootstrap_s (seconds;
"parse_s"/"read_s" for load and "boot_s" are taken as well), the load / fit / per-round split
comes from there. Otherwise per round = (median wall of the full runs - median wall of the short
runs) / (B - R0), and fit = short - R0 x per round (load included, marked "load+fit"), where the
short runs use --bootstrap R0 = 0, or 10 if assay refuses 0.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import re
import statistics
import sys


def read_env(path: str) -> dict:
    out = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                out[k] = v
    return out


def parse_time_v(path: str) -> dict:
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        if line.startswith("Maximum resident set size (kbytes):"):
            out["maxrss_mb"] = int(line.rsplit(":", 1)[1]) / 1024.0
        elif line.startswith("Elapsed (wall clock) time"):
            v = line.rsplit(": ", 1)[1]
            parts = [float(x) for x in v.split(":")]
            s = 0.0
            for p in parts:
                s = s * 60 + p
            out["elapsed_s"] = s
        elif line.startswith("User time (seconds):"):
            out["user_s"] = float(line.rsplit(":", 1)[1])
        elif line.startswith("System time (seconds):"):
            out["sys_s"] = float(line.rsplit(":", 1)[1])
        elif line.startswith("Percent of CPU this job got:"):
            out["cpu_pct"] = line.rsplit(":", 1)[1].strip()
    return out


def assay_rows(doc) -> list[dict] | None:
    rows = doc
    if isinstance(doc, dict):
        for key in ("rows", "ratings", "leaderboard", "models"):
            if isinstance(doc.get(key), list):
                rows = doc[key]
                break
    if not isinstance(rows, list):
        return None
    out = []
    for r in rows:
        if not isinstance(r, dict):
            return None
        name = r.get("model", r.get("name"))
        score = next((r[k] for k in ("score", "rating", "elo") if isinstance(r.get(k), (int, float))), None)
        if name is None or score is None:
            return None
        out.append({**r, "model": str(name), "score": float(score)})
    return out


def assay_timings(doc) -> dict:
    if not isinstance(doc, dict):
        return {}
    t = doc.get("timings", doc.get("timing"))
    if not isinstance(t, dict):
        return {}

    def pick(*keys):
        for k in keys:
            if isinstance(t.get(k), (int, float)):
                return float(t[k])
        for k in keys:  # milliseconds, if that is what it gives
            km = k[:-2] + "_ms"
            if isinstance(t.get(km), (int, float)):
                return float(t[km]) / 1000.0
        return None

    return {"load_s": pick("load_s", "parse_s", "read_s"), "fit_s": pick("fit_s"),
            "bootstrap_s": pick("bootstrap_s", "boot_s"),
            "fit_and_intervals_s": pick("fit_and_intervals_s")}


def collect_assay(work: str) -> dict:
    runs: dict = {"fit": [], "full": []}
    for kind in runs:
        for wall in sorted(glob.glob(os.path.join(work, f"assay-{kind}-*.wall"))):
            i = wall[: -len(".wall")].rsplit("-", 1)[1]
            if i == "0":
                continue
            fields = open(wall).read().split()
            base = wall[: -len(".wall")]
            rec = {"wall_s": int(fields[0]) / 1e6, "rc": int(fields[1]),
                   "rounds": int(fields[2]) if len(fields) > 2 else (0 if kind == "fit" else None),
                   **parse_time_v(base + ".time")}
            try:
                rec["doc"] = json.load(open(base + ".json"))
            except Exception as e:
                rec["doc"] = None
                rec["json_error"] = str(e)[:200]
            runs[kind].append(rec)
    return runs


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def centred(scores: dict) -> dict:
    mean = sum(scores.values()) / len(scores)
    return {k: v - mean + 1000.0 for k, v in scores.items()}


def spearman(xs, ys) -> float:
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


def diff(a: dict, b: dict):
    common = sorted(set(a) & set(b))
    if not common:
        return None
    ca = centred({k: a[k] for k in common})
    cb = centred({k: b[k] for k in common})
    worst = max(common, key=lambda k: abs(ca[k] - cb[k]))
    return {"n": len(common), "only_a": len(set(a) - set(b)), "only_b": len(set(b) - set(a)),
            "max_abs": abs(ca[worst] - cb[worst]), "worst": worst,
            "mean_abs": sum(abs(ca[k] - cb[k]) for k in common) / len(common),
            "rho": spearman([ca[k] for k in common], [cb[k] for k in common])}


def fmt(x, digits=3, dash="—"):
    if x is None:
        return dash
    if isinstance(x, str):
        return x
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def small(x: float) -> str:
    return f"{x:.3f}" if x >= 0.001 or x == 0 else f"{x:.1e}"


def ratio(peer, mine):
    if peer is None or mine is None or mine <= 0:
        return "—"
    r = peer / mine
    return f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--work", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "work"))
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--results", default=None)
    p.add_argument("--versions", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "work", "versions.env"))
    a = p.parse_args(argv)
    work, B = a.work, a.bootstrap

    versions = read_env(a.versions)
    truth = json.load(open(os.path.join(work, "truth.json"))) if os.path.exists(
        os.path.join(work, "truth.json")) else None
    peers = {}
    if os.path.exists(os.path.join(work, "peers.jsonl")):
        for line in open(os.path.join(work, "peers.jsonl")):
            rec = json.loads(line)
            if "tool" in rec:
                peers[rec["tool"]] = rec

    notes: list[str] = []
    table: list[list[str]] = []
    header = ["tool", "load s", "fit s", "per bootstrap round s", f"load + fit + {B:,} rounds s",
              "max RSS MB", "fit: × assay", "round: × assay"]

    # ---- assay
    runs = collect_assay(work)
    full_ok = [r for r in runs["full"] if r["rc"] == 0]
    fit_ok = [r for r in runs["fit"] if r["rc"] == 0]
    assay = None
    if runs["full"] and not full_ok:
        notes.append(f"assay: all {len(runs['full'])} runs with --bootstrap {B} failed "
                     f"(see work/assay-full-*.err).")
    if full_ok:
        total = med(r["wall_s"] for r in full_ok)
        rss = max((r.get("maxrss_mb") or 0.0) for r in full_ok + fit_ok)
        tim = [assay_timings(r["doc"]) for r in full_ok]
        load = med(t.get("load_s") for t in tim)
        fit = med(t.get("fit_s") for t in tim)
        boot = med(t.get("bootstrap_s") for t in tim)
        fit_label = None
        r0 = fit_ok[0]["rounds"] if fit_ok else None  # rounds of the short runs (0 or 10)
        short = med(r["wall_s"] for r in fit_ok) if fit_ok else None
        # assay times itself: load, then fit + intervals in one span. The `--bootstrap 0` runs'
        # span is the fit alone; the difference to the full runs' span is the bootstrap.
        fit_spans = [assay_timings(r["doc"]).get("fit_and_intervals_s") for r in fit_ok]
        full_spans = [t.get("fit_and_intervals_s") for t in tim]
        if (boot is None and fit is None and r0 == 0 and fit_spans and None not in fit_spans
                and None not in full_spans):
            fit = med(fit_spans)
            boot = med(full_spans) - fit
        if boot is not None:
            per_round = boot / B
        elif fit_ok and B > r0:
            per_round = (total - short) / (B - r0)
        else:
            per_round = None
        if fit is None and fit_ok and per_round is not None:
            fit = short - r0 * per_round - (load or 0.0)
            if load is None:
                fit_label = "load+fit"
        assay = {"load": load, "fit": fit, "round": per_round, "total": total, "rss": rss,
                 "fit_label": fit_label, "rows": assay_rows(full_ok[-1]["doc"]),
                 "cpu": [r.get("cpu_pct") for r in full_ok], "walls": [r["wall_s"] for r in full_ok]}
        fit_cell = fmt(fit) + (" (load+fit)" if fit_label else "")
        table.append(["**assay**", fmt(load), fit_cell, fmt(per_round, 5), f"**{fmt(total)}** (measured)",
                      fmt(rss), "1×", "1×"])
        notes.append(f"assay: median of {len(full_ok)} runs (walls "
                     + ", ".join(f"{w:.3f}" for w in assay["walls"])
                     + f" s; CPU {', '.join(c or '?' for c in assay['cpu'])}); per round "
                     + ("from its own timings." if boot is not None else
                        f"= (full − `--bootstrap {r0}` run) / {B - r0}"
                        + (f"; load+fit = that run − {r0} rounds." if r0 else ".")
                        if per_round is not None else "unknown."))
        if not fit_ok and fit is None:
            notes.append("assay: the short (`--bootstrap 0`/`10`) runs failed and the JSON has no timings, so "
                         "fit and per-round times are unknown; only the total is measured.")
        if assay["rows"] is None:
            notes.append("assay: its --json output has no rows of {model, score}: scores not compared.")
    elif not runs["full"]:
        notes.append("assay: not run (no binary, or no `arena ratings` command yet).")

    assay_fit_for_ratio = None
    if assay:
        assay_fit_for_ratio = assay["fit"] if not assay["fit_label"] else None

    # ---- peers
    for tool in ("fastchat", "evalica"):
        r = peers.get(tool)
        if not r:
            continue
        if "error" in r:
            table.append([tool, "—", "—", "—", f"failed ({r['error']})", "—", "—", "—"])
            continue
        total = r["load_s"] + r["fit_s"] + B * r["round_s"]
        fit_ratio = "—"
        if assay:
            if assay_fit_for_ratio is not None:
                fit_ratio = ratio(r["fit_s"], assay_fit_for_ratio)
            elif assay["fit"] is not None:  # assay's figure includes its load
                fit_ratio = ratio(r["load_s"] + r["fit_s"], assay["fit"]) + " (load+fit)"
        table.append([tool, fmt(r["load_s"]), fmt(r["fit_s"]), fmt(r["round_s"]),
                      f"{fmt(total)} (extrapolated: load + fit + {B:,} × round)",
                      fmt(r["peak_rss_mb"]), fit_ratio,
                      ratio(r["round_s"], assay["round"]) if assay else "—"])
        if tool == "evalica":
            table.append(["evalica, Rust core only", "—", fmt(r["core_s"]), "—", "—", "—",
                          ratio(r["core_s"], assay_fit_for_ratio) if assay else "—", "—"])
            notes.append(
                f"evalica: load includes mapping winner to evalica.Winner ({r['winner_map_s']:.2f} s). "
                f"fit = bradley_terry() with its indexing ({r['fit_iterations']} iterations); "
                f"core = _brzo.bradley_terry on pre-indexed lists. Per round: notebook loop "
                f"{r['boot_loop_round_s']:.3f} s, evalica.bootstrap (percentile) "
                f"{r['boot_api_round_s']:.3f} s; the table takes the faster ({r['round_from']}). "
                f"Peak RSS {r['peak_rss_mb']:,.0f} MB, {r['after_load']['rss_mb']:,.0f} MB right after load.")
        else:
            notes.append(
                f"fastchat: fit = compute_elo_mle_with_tie (sklearn LogisticRegression on a dense "
                f"2n × models matrix); per round = get_bootstrap_result(..., num_round="
                f"{r['boot_rounds']}) / {r['boot_rounds']}. Peak RSS {r['peak_rss_mb']:,.0f} MB, "
                f"{r['after_load']['rss_mb']:,.0f} MB right after load."
                + (f" Warnings: {'; '.join(r['warnings'])}." if r.get("warnings") else ""))
        if "fit_cpu_s" in r:
            notes.append(f"{tool}: CPU seconds (user + sys, all threads): load {r['load_cpu_s']:.2f}, "
                         f"fit {r['fit_cpu_s']:.2f}, per round {r['round_cpu_s']:.2f}"
                         + (f"; L-BFGS {r['fit_lbfgs_s']:.2f} s of the fit, "
                            f"{r['fit_lbfgs_iterations']} iterations" if "fit_lbfgs_s" in r else "")
                         + ".")
        notes.append(f"{tool}: load average {r['loadavg_start']} at start, {r['loadavg_end']} at end; "
                     f"BLAS {', '.join(r.get('blas', []))}; {r['boot_rounds']} rounds timed.")

    # ---- scores
    tables = {}
    mle_name = "exact MLE of the file (truth.json)"
    if truth and all("rating_mle" in row for row in truth["rows"]):
        tables[mle_name] = {row["model"]: row["rating_mle"] for row in truth["rows"]}
    for tool in ("fastchat", "evalica"):
        path = os.path.join(work, f"scores-{tool}.json")
        if tool in peers and "error" not in peers[tool] and os.path.exists(path):
            tables[tool] = json.load(open(path))
    if truth:
        tables["large-N limit of the fit (truth.json)"] = {
            row["model"]: row["rating_tie_half"] for row in truth["rows"] if "rating_tie_half" in row}
        tables["generating ratings (truth.json)"] = {row["model"]: row["rating"] for row in truth["rows"]}
    score_lines = []
    ref_name = None
    if assay and assay["rows"]:
        ref_name, ref = "assay", {r["model"]: r["score"] for r in assay["rows"]}
    elif mle_name in tables:
        ref_name, ref = mle_name, tables.pop(mle_name)
    if ref_name:
        for name, tab in tables.items():
            if not tab:
                continue
            d = diff(tab, ref)
            if d is None:
                score_lines.append(f"| {name} | no models in common | | | |")
                continue
            extra = f" ({d['only_a']} only in {name}, {d['only_b']} only in {ref_name})" if (
                d["only_a"] or d["only_b"]) else ""
            score_lines.append(f"| {name} | {small(d['max_abs'])} ({d['worst']}) | "
                               f"{small(d['mean_abs'])} | {d['rho']:.6f} | {d['n']}{extra} |")

    # ---- goals
    goals = []
    if assay:
        goals.append(f"- assay load + fit + {B:,} rounds ≤ 2 s: **{assay['total']:.3f} s** — "
                     + ("met" if assay["total"] <= 2.0 else "NOT met"))
        for tool, want in (("fastchat", 5000), ("evalica", 1000)):
            r = peers.get(tool)
            if r and "round_s" in r and assay["round"]:
                x = r["round_s"] / assay["round"]
                goals.append(f"- per bootstrap round ≥ {want:,}× {tool}: **{x:,.0f}×** — "
                             + ("met" if x >= want else "NOT met"))

    # ---- out
    n = truth["n"] if truth else "?"
    m = truth["models"] if truth else "?"
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    la = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []
    lines = [f"# Arena ratings: {n:,} battles over {m} models" if isinstance(n, int) else
             "# Arena ratings", "",
             f"Machine: {os.cpu_count()} cores ({cpu}), {platform.python_implementation()} "
             f"{versions.get('PYTHON_V', platform.python_version())}; load average now "
             f"{' '.join(la)}. Peers: fschat {versions.get('FSCHAT_V', '?')}, evalica "
             f"{versions.get('EVALICA_V', '?')} (numpy {versions.get('NUMPY_V', '?')}, pandas "
             f"{versions.get('PANDAS_V', '?')}, scikit-learn {versions.get('SKLEARN_V', '?')}, "
             f"scipy {versions.get('SCIPY_V', '?')}).", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    lines += ["", "Peers' totals are extrapolated, not measured: load + one fit + "
              f"{B:,} × the per-round time measured over a few rounds. Ratios are peer ÷ assay "
              "(wall time). Max RSS: /usr/bin/time -v for assay, ru_maxrss of each peer's own "
              "process (load included).", ""]
    if goals:
        lines += ["Goals:", *goals, ""]
    if score_lines:
        lines += [f"Scores against {ref_name} (Elo points; each table shifted to mean 1000 over the "
                  "common models):", "",
                  "| scores | max abs diff (model) | mean abs diff | Spearman ρ | models |",
                  "|---|---|---|---|---|", *score_lines, ""]
    if notes:
        lines += ["Notes:", *[f"- {x}" for x in notes], ""]
    text = "\n".join(lines)
    print(text)
    if a.results:
        with open(a.results, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
